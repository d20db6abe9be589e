"""The web app's HTML: small, phone-first pages that need no JavaScript.

Every value is escaped here. The receipt and the refusal reasons come from `handlers/` in the
chat's HTML subset (<b>, <i>, <code>, entities already escaped), so they go in as they are,
with their line breaks made visible.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from db.web_links import LinkState
from handlers.catalog import DEFAULT_LANGUAGE, t
from handlers.presenting import file_size
from handlers.uploads import UploadPage

_STYLE = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;
color:#1d232a;background:#f3f5f7}
main{max-width:40rem;margin:0 auto;padding:1rem}
.card{background:#fff;border-radius:.75rem;padding:1.25rem;box-shadow:0 1px 3px #0002}
h1{font-size:1.35rem;line-height:1.3;margin:0 0 .75rem}
dl{margin:0 0 1rem}dt{color:#5b6670;font-size:.9rem}dd{margin:0 0 .5rem;font-weight:600}
.note{color:#5b6670;font-size:.95rem}
.refused{background:#fdecea;border:1px solid #f5c2bd;border-radius:.5rem;padding:.75rem 1rem;
margin:0 0 1rem}
.refused ul{margin:.25rem 0 0;padding-left:1.25rem}
.receipt{background:#e8f5e9;border:1px solid #b9dfbd;border-radius:.5rem;padding:.75rem 1rem}
label{display:block;font-weight:600;margin:1rem 0 .5rem}
input[type=file]{display:block;width:100%;padding:.75rem;border:2px dashed #9aa5b1;
border-radius:.5rem;background:#fafbfc;font-size:1rem}
button{display:block;width:100%;margin-top:1rem;padding:.9rem;border:0;border-radius:.5rem;
background:#0b6bcb;color:#fff;font-size:1.1rem;font-weight:600}
"""


def _e(text: str) -> str:
    return escape(text, quote=True)


def _subset(html: str) -> str:
    """A message in the chat's HTML subset, with its line breaks kept on the page."""
    return html.replace("\n", "<br>\n")


def _document(lang: str, title: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        f'<html lang="{_e(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)} · {_e(t('web.app_name', lang))}</title>\n"
        f"<style>{_STYLE}</style>\n</head>\n"
        f'<body>\n<main>\n<div class="card">\n{body}\n</div>\n</main>\n</body>\n</html>\n'
    )


def _message(lang: str, title_key: str, body_key: str) -> str:
    title = t(title_key, lang)
    return _document(lang, title, f"<h1>{_e(title)}</h1>\n<p>{_e(t(body_key, lang))}</p>")


def upload_form(page: UploadPage, reasons: Sequence[str] = (), *, confirm: str = "") -> str:
    """The upload page of a valid link, with the reasons a previous try was refused; with
    `confirm`, the form hands in what the official confirms (`?confirm=<confirm>`)."""
    lang = page.lang
    title = t("web.upload.title", lang)
    facts = [
        (t("web.upload.official", lang), f"{page.official_name} — {page.unit_name}"),
        (t("web.upload.report", lang), page.title),
    ]
    if page.due:
        facts.append((t("web.upload.due", lang), page.due))
    facts_html = "".join(f"<dt>{_e(term)}</dt><dd>{_e(value)}</dd>" for term, value in facts)
    refused = ""
    if reasons:
        # Some reasons carry the chat's own bullet; on the page the list gives them one.
        items = "".join(f"<li>{_subset(reason.removeprefix('• '))}</li>" for reason in reasons)
        refused = (
            f'<div class="refused" role="alert"><strong>{_e(t("web.upload.refused", lang))}'
            f"</strong><ul>{items}</ul></div>\n"
        )
    accept = ",".join(f".{extension}" for extension in page.accepted)
    limits = t(
        "web.upload.limits",
        lang,
        types=", ".join(page.accepted),
        size=file_size(page.max_bytes, lang),
        count=page.max_files,
    )
    action = f' action="?confirm={_e(confirm)}"' if confirm else ""
    submit = t("upload.template_submit" if confirm else "web.upload.submit", lang)
    confirming = (
        f'<p class="note">{_e(t("upload.template_confirm", lang))}</p>\n' if confirm else ""
    )
    body = (
        f"<h1>{_e(title)}</h1>\n{refused}<dl>{facts_html}</dl>\n"
        f'<form method="post" enctype="multipart/form-data"{action}>\n'
        f'<label for="files">{_e(t("web.upload.choose", lang))}</label>\n'
        f'<input id="files" type="file" name="files" multiple accept="{_e(accept)}">\n'
        f'<p class="note">{_e(limits)}</p>\n'
        f'<p class="note">{_e(t("web.upload.once", lang))}</p>\n'
        f"{confirming}"
        f'<button type="submit">{_e(submit)}</button>\n'
        "</form>"
    )
    return _document(lang, title, body)


def receipt_page(lang: str, receipt: str) -> str:
    """The page after a successful upload: the same receipt the chat gets."""
    title = t("web.receipt.title", lang)
    body = (
        f"<h1>{_e(title)}</h1>\n"
        f'<div class="receipt" role="status">{_subset(receipt)}</div>\n'
        f'<p class="note">{_e(t("web.receipt.chat", lang))}</p>'
    )
    return _document(lang, title, body)


def link_closed_page(state: LinkState, lang: str = DEFAULT_LANGUAGE) -> str:
    """Why an upload link opens no form: unknown, used up or expired (ask /nop for a new one)."""
    if state is LinkState.USED:
        return _message(lang, "web.gone.title", "web.gone.used")
    if state is LinkState.EXPIRED:
        return _message(lang, "web.gone.title", "web.gone.expired")
    return _message(lang, "web.unknown.title", "web.unknown.body")


def file_missing_page(lang: str = DEFAULT_LANGUAGE) -> str:
    """A download link that is unknown, expired, or whose file is gone."""
    return _message(lang, "web.file_missing.title", "web.file_missing.body")


def not_found_page(lang: str = DEFAULT_LANGUAGE) -> str:
    """Any address the app does not have."""
    return _message(lang, "web.not_found.title", "web.not_found.body")


def error_page(lang: str = DEFAULT_LANGUAGE) -> str:
    """What a person sees when something failed on our side."""
    return _message(lang, "web.error.title", "web.error.body")
