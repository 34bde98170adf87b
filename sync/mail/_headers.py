"""Header folding that keeps every space of a long non-ASCII Subject or display name.

Python's email package folds a long non-ASCII header into RFC 2047 encoded-words and, when
the fold falls on a space, leaves that space between two encoded-words as the folding white
space. RFC 2047 (section 6.2) tells every reader to ignore white space between adjacent
encoded-words, so the space is gone: "北斗化学 小林 誠" arrives as "北斗化学小林 誠".
Its encoded-words also fill whole lines, past RFC 2047's 75 characters. CPython fixed the
lost space in 2026 (issue gh-144156, in 3.13 and later releases); 3.11 and 3.12 keep both.

`POLICY` is `email.policy.SMTP` with Subject, From, To, Cc, Bcc, Reply-To and every other
free-text (unstructured) header folded here instead, whichever policy the message is later
written with:

- Text made of printable words separated by single spaces, each short enough for a line
  (ASCII, or any text under a `utf8` policy), is folded at its spaces: unfolding, which
  removes only the line breaks, gives the text back.
- Anything else becomes UTF-8 base64 encoded-words that carry the spaces inside them. Each
  holds whole characters and is at most 75 characters long (RFC 2047 section 2); lines
  break only between encoded-words and are at most 78 characters (RFC 5322 section 2.1.1).
- An address's display name follows the same two rules (an ASCII one quoted as RFC 5322
  asks), is kept in one encoded-word when it fits one, and is followed by `<addr-spec>`.

Only folding changes: values are parsed, stored and read back as the email package does.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from email import policy as email_policy
from email.headerregistry import (
    Address,
    AddressHeader,
    BaseHeader,
    HeaderRegistry,
    UnstructuredHeader,
)
from email.policy import EmailPolicy, Policy
from typing import ClassVar, Literal

MAX_LINE = 78
"""RFC 5322 2.1.1: a header line SHOULD be at most 78 characters, CRLF excluded."""
MAX_ENCODED_WORD = 75
"""RFC 2047 section 2: an encoded-word is at most 75 characters."""
_PREFIX = "=?utf-8?b?"
_SUFFIX = "?="


def fold_text(name: str, text: str, policy: Policy) -> str:
    """`name: text` and the line separator, folded so that a reader gets `text` back."""
    if not text:
        return f"{name}:{policy.linesep}"
    folder = _Folder(name, policy)
    words = text.split(" ")
    if _plain(text, policy) and all(folder.fits_a_line(word) for word in words):
        for word in words:
            folder.add(word)
    else:
        folder.add_encoded(text, keep_whole=False)
    return folder.text()


def fold_addresses(name: str, addresses: Sequence[Address], policy: Policy) -> str:
    """`name: address, ...` and the line separator, the display names kept exactly."""
    folder = _Folder(name, policy)
    for index, address in enumerate(addresses):
        comma = "," if index < len(addresses) - 1 else ""
        display = address.display_name
        if not display:
            folder.add(address.addr_spec + comma)
            continue
        angle_addr = f"<{address.addr_spec}>"
        phrase = str(address).removesuffix(" " + angle_addr)  # quoted if it must be
        # A quoted phrase stays on one line; an unquoted one may fold between its words.
        words = [phrase] if phrase.startswith('"') else phrase.split(" ")
        words.append(angle_addr + comma)
        if _plain(display, policy) and all(folder.fits_a_line(word) for word in words):
            for word in words:
                folder.add(word)
        else:
            folder.add_encoded(display, keep_whole=True)
            folder.add(f"<{address.addr_spec}>{comma}")
    return folder.text()


class _Text(UnstructuredHeader, BaseHeader):
    """A free-text header (Subject, X-...), folded by `fold_text`."""

    def fold(self, *, policy: Policy) -> str:
        return fold_text(self.name, str(self), policy)


class _UniqueText(_Text):
    max_count: ClassVar[Literal[1]] = 1


# The stubs type AddressHeader.init (which takes `groups`) apart from BaseHeader.init, which
# it extends at run time; the registry combines the two the same way.
class _Addresses(AddressHeader, BaseHeader):  # type: ignore[misc]
    """An address list header (From, To, ...), folded by `fold_addresses`.

    Named groups and non-ASCII addr-specs (which only a `utf8` policy can carry) are left to
    the email package."""

    def fold(self, *, policy: Policy) -> str:
        named_group = any(group.display_name is not None for group in self.groups)
        utf8 = isinstance(policy, EmailPolicy) and policy.utf8
        if named_group or not (utf8 or all(a.addr_spec.isascii() for a in self.addresses)):
            return super().fold(policy=policy)
        return fold_addresses(self.name, self.addresses, policy)


class _UniqueAddresses(_Addresses):
    max_count: ClassVar[Literal[1]] = 1


def _registry() -> HeaderRegistry:
    registry = HeaderRegistry(default_class=_Text)
    registry.map_to_type("subject", _UniqueText)
    for name in ("from", "to", "cc", "bcc", "reply-to"):
        registry.map_to_type(name, _UniqueAddresses)
    for name in ("resent-from", "resent-to", "resent-cc", "resent-bcc"):
        registry.map_to_type(name, _Addresses)
    return registry


POLICY = email_policy.SMTP.clone(header_factory=_registry())
"""`email.policy.SMTP` (CRLF lines of at most 78 characters, RFC 2047 encoding), with the
free-text and address headers folded by this module."""


class _Folder:
    """Lines of one header: `Name:`, then tokens each after one space, a new line (starting
    with that space) whenever the next token would pass the line length."""

    def __init__(self, name: str, policy: Policy) -> None:
        self._max = policy.max_line_length or MAX_LINE
        self._linesep = policy.linesep
        self._label = f"{name}:"
        self._lines = [self._label]

    def _room(self) -> int:
        """The longest token that fits on the current line after its space."""
        return self._max - len(self._lines[-1]) - 1

    def _has_token(self) -> bool:
        return self._lines[-1] not in ("", self._label)

    def fits_a_line(self, token: str) -> bool:
        """Whether `token` fits a line of its own."""
        return len(token) <= self._max - 1

    def add(self, token: str) -> None:
        # Break unless the line is a fresh one, where breaking again would gain nothing.
        if len(token) > self._room() and self._lines[-1]:
            self._lines.append("")
        self._lines[-1] += " " + token

    def add_encoded(self, text: str, *, keep_whole: bool) -> None:
        """`text` as encoded-words, each as long as the line allows; `keep_whole` starts a
        new line if that lets all of `text` go in one encoded-word."""
        limit = min(MAX_ENCODED_WORD, self._max - 1)
        fits_here = _fitting(text, min(limit, self._room())) == len(text)
        fits_a_word = _fitting(text, limit) == len(text)
        if keep_whole and fits_a_word and not fits_here and self._has_token():
            self._lines.append("")
        while text:
            count = _fitting(text, min(limit, self._room()))
            if count == 0:
                if not self._lines[-1]:
                    raise ValueError(
                        f"max_line_length {self._max} is too short for an encoded-word"
                    )
                self._lines.append("")
                continue
            self.add(_encoded_word(text[:count]))
            text = text[count:]

    def text(self) -> str:
        return self._linesep.join(self._lines) + self._linesep


def _plain(text: str, policy: Policy) -> bool:
    """Whether `text` can be written as it is and folded at its spaces: printable words
    separated by single spaces, nothing a reader would take for an encoded-word, and ASCII
    unless the policy writes UTF-8 headers."""
    utf8 = isinstance(policy, EmailPolicy) and policy.utf8
    return (
        (utf8 or text.isascii())
        and text.isprintable()
        and "=?" not in text
        and "" not in text.split(" ")
    )


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "replace")


def _encoded_word(text: str) -> str:
    return _PREFIX + base64.b64encode(_utf8(text)).decode("ascii") + _SUFFIX


def _fitting(text: str, length: int) -> int:
    """How many leading characters of `text` one encoded-word of at most `length`
    characters holds (base64: 4 characters for every 3 bytes or part of 3)."""
    budget = (length - len(_PREFIX) - len(_SUFFIX)) // 4 * 3
    used = 0
    for count, char in enumerate(text):
        used += len(_utf8(char))
        if used > budget:
            return count
    return len(text)
