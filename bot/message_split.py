"""Cutting a long message into pieces a channel accepts, at clean boundaries."""

from __future__ import annotations


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of at most `limit` characters, cut between blocks, then lines, then words.

    Our messages never open a tag on one line and close it on another, so a cut at a line
    boundary never breaks the HTML subset.
    """
    if len(text) <= limit:
        return [text]
    pieces: list[str] = []
    current = ""
    for block in _units(text, limit):
        candidate = f"{current}{block}" if current else block.lstrip("\n")
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current.rstrip("\n"))
        current = block.lstrip("\n")
    if current.strip():
        pieces.append(current.rstrip("\n"))
    return pieces


def _units(text: str, limit: int) -> list[str]:
    # Blocks separated by blank lines, each with the separator in front of it; a block too
    # long on its own is cut into lines, and a line too long into words.
    units: list[str] = []
    for i, block in enumerate(text.split("\n\n")):
        prefix = "\n\n" if i else ""
        if len(prefix + block) <= limit:
            units.append(prefix + block)
            continue
        for j, line in enumerate(block.split("\n")):
            line_prefix = prefix if j == 0 else "\n"
            if len(line_prefix + line) <= limit:
                units.append(line_prefix + line)
                continue
            words = line.split(" ")
            chunk = line_prefix
            for word in words:
                while len(word) > limit:  # a single word longer than the limit: hard cut
                    if chunk.strip():
                        units.append(chunk)
                        chunk = "\n"
                    units.append(chunk + word[: limit - len(chunk)])
                    word = word[limit - len(chunk) :]
                    chunk = "\n"
                candidate = f"{chunk} {word}" if chunk.strip() else chunk + word
                if len(candidate) > limit:
                    units.append(chunk)
                    chunk = "\n" + word
                else:
                    chunk = candidate
            if chunk.strip():
                units.append(chunk)
    return units
