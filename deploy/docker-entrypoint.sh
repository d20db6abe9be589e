#!/bin/sh
# The container's entrypoint: `nhacviec ARGS`, with the schema created or upgraded first when
# the bot is started (`run`); other commands (backup, restore, plan load …) run as they are.
set -e
if [ "${1:-run}" = "run" ]; then
    nhacviec db upgrade
fi
exec nhacviec "$@"
