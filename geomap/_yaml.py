"""Reading small YAML files from outside the council without surprises.

:func:`load_yaml` reads a YAML file into plain mappings, lists and text, and
nothing else:

- **No implicit typing.** Every scalar stays the text the user typed:
  ``9:00`` is ``"9:00"`` (not the sexagesimal 540), ``0130710`` is
  ``"0130710"`` (not an octal number), ``yes`` is ``"yes"`` (not ``True``).
  The caller converts each field itself, with a message naming the field.
- **Bounded.** The file size (:data:`MAX_BYTES`), the nesting depth
  (:data:`MAX_DEPTH`), the number of aliases (:data:`MAX_ALIASES`) and the
  number of values once aliases are expanded (:data:`MAX_VALUES`) are limited,
  so a "billion laughs" file of nested aliases is refused as soon as it is read,
  without expanding anything. An alias shares the anchored value (it is not
  copied), so a file within the limits costs no more memory than its text.
- **Strict.** A key given twice in one mapping, a key that is not text, a tag
  (``!!python/object``, ``!!int``…), an alias to an unknown or unfinished
  anchor, more than one document, and control characters are refused.
  Merge keys (``<<: *defaults``) work as in YAML 1.1: keys written in the
  mapping win over merged ones.
- **Located.** Every value remembers the line it starts on (1-based), for
  messages: text is a :class:`YamlText` (a ``str``), mappings a
  :class:`YamlMap` (a ``dict``), lists a :class:`YamlList` (a ``list``), each
  with a ``line`` attribute; :func:`line_of` reads it from any value.

Errors are :class:`~geomap.errors.YamlError` (an
:class:`~geomap.errors.InputError`) naming the file, the line as ``row`` and,
where known, the place in the file as ``column`` (``routes[0].stops[2]``).
A file that is missing or cannot be read is an :class:`~geomap.errors.InputError`.
"""

from __future__ import annotations

import os
import re
import stat
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml import events

from geomap.errors import InputError, YamlError

__all__ = [
    "MAX_ALIASES",
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_VALUES",
    "YamlList",
    "YamlMap",
    "YamlText",
    "YamlValue",
    "line_of",
    "load_yaml",
    "shown",
]

#: Largest file read, bytes (1 MiB). Scenario and sweep files are a few kilobytes.
MAX_BYTES = 1024 * 1024
#: Deepest nesting of mappings and lists, counted after aliases are expanded.
MAX_DEPTH = 32
#: Most alias uses (``*name``) in one file.
MAX_ALIASES = 1000
#: Most values (texts, mappings and lists, keys included) once aliases are expanded;
#: about 50 MB of memory at most. A scenario of 50 routes of 150 stops holds about 50,000.
MAX_VALUES = 100_000

_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
# what the YAML reader refuses in the raw text (YAML 1.1 printable characters)
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)
# what a double-quoted escape (``"\0"``, ``"\e"``, ``"\ud800"``) can still put into a value
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
#: Characters that cannot be shown as one line of visible text: controls (line breaks
#: too), bidirectional overrides and lone surrogates. Shown in messages as code points,
#: so a message stays one line and cannot restyle a terminal; refused in one-line values.
UNSHOWN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LINE_BREAK = re.compile("[\n\r\x85\u2028\u2029]")
_PARSER: Any = getattr(yaml, "CBaseLoader", yaml.BaseLoader)


class YamlText(str):
    """Text from a YAML file, exactly as written, with the line it starts on."""

    line: int

    def __new__(cls, value: str, line: int) -> YamlText:
        self = super().__new__(cls, value)
        self.line = line
        return self


class YamlMap(dict[str, Any]):
    """A mapping from a YAML file (keys are :class:`YamlText`), with the line it starts on."""

    def __init__(self, *, line: int) -> None:
        super().__init__()
        self.line = line


class YamlList(list[Any]):
    """A list from a YAML file, with the line it starts on."""

    def __init__(self, *, line: int) -> None:
        super().__init__()
        self.line = line


YamlValue = YamlText | YamlMap | YamlList


def line_of(value: object) -> int | None:
    """The line (1-based) a value read by :func:`load_yaml` starts on, or ``None``.

    Parameters
    ----------
    value
        A mapping, list or text from :func:`load_yaml` (anything else has no line).

    Returns
    -------
    int or None
        The line, for messages; ``None`` for a value not read from a file.
    """
    line = getattr(value, "line", None)
    return line if isinstance(line, int) else None


def shown(text: str, *, limit: int = 60) -> str:
    """``text`` quoted for a message, shortened, with control characters as code points.

    Parameters
    ----------
    text
        A value from a file, as it was written.
    limit
        The most characters shown; longer text is cut and ends with ``…``.

    Returns
    -------
    str
        The text in single quotes, each hidden character shown as ``<U+XXXX>``.
    """
    text = UNSHOWN.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return f"'{text}'"


def load_yaml(path: str | Path, *, what: str) -> YamlValue:
    """Read a YAML file as mappings, lists and text, refusing anything surprising.

    Parameters
    ----------
    path
        The file.
    what
        What the file is meant to be, for messages ("scenario file").

    Returns
    -------
    YamlMap, YamlList or YamlText
        The document. Every scalar is text as written; every value has a
        ``line``. A value reached through an alias is the anchored value itself
        (shared, not copied), so its line is the anchor's.

    Raises
    ------
    InputError
        The file is missing, a folder, or cannot be read.
    YamlError
        The file is too large, not UTF-8, not valid YAML, empty, or uses a
        construct refused here; the message names the line and how to fix it.
    """
    path = Path(path)
    text = _read_text(path, what=what)
    builder = _Builder(path=path, what=what)
    try:
        for event in yaml.parse(text, Loader=_PARSER):
            builder.add(event)
    except yaml.MarkedYAMLError as err:
        raise _syntax_error(err, path=path, text=text) from None
    except yaml.YAMLError as err:
        raise YamlError(
            f"not valid YAML ({err})", path=path, fix="Check the file is YAML text"
        ) from None
    return builder.result()


# --------------------------------------------------------------------------- reading


def _read_text(path: Path, *, what: str) -> str:
    """The file's text: a regular file, at most :data:`MAX_BYTES`, UTF-8, printable."""
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise InputError(
                f"expected a {what} but this is a folder",
                path=path,
                fix="Give the path of the YAML file itself",
            )
        if not stat.S_ISREG(info.st_mode):
            raise InputError(
                f"expected a {what} but this is not a regular file",
                path=path,
                fix="Give the path of a YAML file saved on disk",
            )
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError(
            f"{what} not found", path=path, fix="Check the path and file name"
        ) from None
    except PermissionError:
        raise InputError(
            f"cannot read the {what}: permission denied",
            path=path,
            fix="Check the file's permissions, or copy it to a folder you can read",
        ) from None
    except OSError as err:
        raise InputError(
            f"cannot read the {what} ({err.strerror or os.strerror(err.errno or 0) or err})",
            path=path,
            fix="Check the path, and that the file is readable",
        ) from None
    if len(data) > MAX_BYTES:
        raise YamlError(
            f"the {what} is larger than {MAX_BYTES // 1024} KiB, too large for a {what}",
            path=path,
            fix="Check that this is the right file; a YAML file describing this is a few kilobytes",
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise YamlError(
            f"the {what} is not UTF-8 text (it is saved as UTF-16)",
            path=path,
            row=1,
            fix="Save it as UTF-8 (in Notepad or Excel: Save As, Encoding: UTF-8)",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise YamlError(
            f"the {what} is not UTF-8 text: byte 0x{data[err.start]:02x} on line {line} "
            "is not valid UTF-8",
            path=path,
            row=line,
            fix="Save it as UTF-8 (in Notepad or Excel: Save As, Encoding: UTF-8)",
        ) from None
    text = text.removeprefix("\ufeff")
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        char = bad.group()
        line = text.count("\n", 0, bad.start()) + 1
        raise YamlError(
            f"the {what} contains the control character U+{ord(char):04X} "
            f"({unicodedata.name(char, 'unnamed')}) on line {line}",
            path=path,
            row=line,
            fix="Remove it; if the file is not text (a spreadsheet, a zip), export the YAML as text",
        )
    if not text.strip():
        raise YamlError(f"the {what} is empty", path=path, fix=f"Write the {what}'s settings in it")
    return text


def _syntax_error(err: yaml.MarkedYAMLError, *, path: Path, text: str) -> YamlError:
    """A parser's complaint as one message naming the line, with the usual fix."""
    problem = (err.problem or "cannot be read").strip()
    context = (err.context or "").strip()
    problem_line = err.problem_mark.line + 1 if err.problem_mark is not None else None
    context_line = err.context_mark.line + 1 if err.context_mark is not None else None
    lines = text.splitlines()
    tabbed = [
        n + 1
        for n, content in enumerate(lines)
        if "\t" in content[: len(content) - len(content.lstrip(" \t"))]
    ]
    at_end = problem_line is not None and problem_line > len(text.rstrip().splitlines())
    row = problem_line
    fix = "Check the indentation (spaces, lined up) and the quoting on that line"
    if problem_line in tabbed:
        message = f"line {problem_line} is indented with a tab"
        fix = "Indent with spaces; YAML does not allow tabs for indentation"
    elif "quoted scalar" in context and context_line is not None and at_end:
        row = context_line
        message = f"the quote that opens a value on line {context_line} is never closed"
        fix = (
            "Close the quote, or remove it: quotes must pair up ('like this' or \"like this\"); "
            "for an apostrophe in a name, leave the name unquoted or use double quotes"
        )
    elif "flow" in context and context_line is not None and at_end:
        row = context_line
        message = f"the bracket that opens on line {context_line} is never closed"
        fix = "Close each [ with ] and each { with }"
    elif "flow" in context and context_line is not None and (problem_line or 0) > context_line:
        # a list or mapping in brackets that runs on into the next lines: look where it opens
        row = context_line
        message = (
            f"the bracket that opens on line {context_line} is not closed "
            f"before line {problem_line} ({problem})"
        )
        fix = "Close each [ with ] and each { with }, on the line where it opens"
    else:
        message = problem + (f" ({context} on line {context_line})" if context_line else "")
        if "mapping values" in problem:
            fix = (
                "A value that contains ': ' must be quoted, e.g. name: \"Hereford: college link\"; "
                "otherwise check the indentation on that line"
            )
        if tabbed:
            fix += f"; line {tabbed[0]} is indented with a tab: use spaces"
    return YamlError(f"not valid YAML: {message}", path=path, row=row, fix=fix)


# --------------------------------------------------------------------------- building


@dataclass
class _Anchored:
    """A finished anchored value: what an alias to it costs once expanded."""

    value: YamlValue
    size: int
    height: int


@dataclass
class _Open:
    """A mapping or list being read."""

    value: YamlMap | YamlList
    where: str
    anchor: str | None
    size: int = 1
    #: levels of mappings and lists, this one included (a text has height 0)
    height: int = 1
    #: mappings: the key read, waiting for its value, and whether it is a plain ``<<``
    key: YamlText | None = None
    merge_key: bool = False
    #: mappings: the ``<<`` key, once read, and the mappings it merges in, in order
    merged_by: YamlText | None = None
    merges: list[YamlMap] = field(default_factory=list)


class _Builder:
    """Builds the document from parser events, enforcing the limits as it goes."""

    def __init__(self, *, path: Path, what: str) -> None:
        self.path = path
        self.what = what
        self.stack: list[_Open] = []
        self.anchors: dict[str, _Anchored] = {}
        self.aliases = 0
        self.values = 0
        self.documents = 0
        self.root: YamlValue | None = None

    def fail(self, message: str, *, line: int, where: str | None, fix: str) -> YamlError:
        return YamlError(message, path=self.path, row=line, column=where or None, fix=fix)

    # ----------------------------------------------------------------- events

    def add(self, event: events.Event) -> None:
        line = event.start_mark.line + 1 if event.start_mark is not None else 1
        if isinstance(event, events.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self.fail(
                    f"the {self.what} holds more than one YAML document (a second one starts here)",
                    line=line,
                    where=None,
                    fix="Keep one document: remove the '---' line and what follows, "
                    "or put it in its own file",
                )
        elif isinstance(event, events.ScalarEvent):
            self._check_tag(event.tag, _STR_TAG, line=line)
            value = YamlText(event.value, line)
            bad = _CONTROL.search(value)
            if bad is not None:
                raise self.fail(
                    f"{shown(value)} contains the control character U+{ord(bad.group()):04X}",
                    line=line,
                    where=self._where(),
                    fix="Remove it (it may come from a backslash escape inside double quotes)",
                )
            self._count(1, height=0, line=line)
            self._place(value, size=1, height=0, line=line, plain=not event.style)
            self._remember(event.anchor, value, size=1, height=0)
        elif isinstance(event, events.SequenceStartEvent | events.MappingStartEvent):
            is_map = isinstance(event, events.MappingStartEvent)
            self._check_tag(event.tag, _MAP_TAG if is_map else _SEQ_TAG, line=line)
            if len(self.stack) + 1 > MAX_DEPTH:
                raise self.fail(
                    f"nested more than {MAX_DEPTH} levels deep",
                    line=line,
                    where=self._where(),
                    fix="Flatten the structure; this file needs only a few levels",
                )
            self._count(1, height=1, line=line)
            container: YamlMap | YamlList = YamlMap(line=line) if is_map else YamlList(line=line)
            self.stack.append(_Open(container, where=self._where(), anchor=event.anchor))
        elif isinstance(event, events.SequenceEndEvent | events.MappingEndEvent):
            done = self.stack.pop()
            if isinstance(done.value, YamlMap):
                self._merge(done)
            self._place(done.value, size=done.size, height=done.height, line=done.value.line)
            self._remember(done.anchor, done.value, size=done.size, height=done.height)
        elif isinstance(event, events.AliasEvent):
            self._alias(event.anchor or "", line=line)

    def result(self) -> YamlValue:
        if self.root is None:
            raise YamlError(
                f"the {self.what} has no content (only comments or blank lines)",
                path=self.path,
                fix=f"Write the {self.what}'s settings in it",
            )
        return self.root

    # ----------------------------------------------------------------- helpers

    def _where(self) -> str:
        """The place of the value about to be read (``routes[0].stops``), ``""`` at the top."""
        if not self.stack:
            return ""
        top = self.stack[-1]
        if isinstance(top.value, YamlList):
            return f"{top.where}[{len(top.value)}]"
        if top.key is None:  # reading a key: name the mapping
            return top.where
        return f"{top.where}.{top.key}" if top.where else str(top.key)

    def _check_tag(self, tag: str | None, allowed: str, *, line: int) -> None:
        if tag is None or tag in ("!", allowed):
            return
        short = tag.replace("tag:yaml.org,2002:", "!!")
        raise self.fail(
            f"the tag {shown(short)} is not allowed",
            line=line,
            where=self._where(),
            fix="Remove the tag and write the value plainly: every value is read as text "
            "and checked field by field",
        )

    def _count(self, size: int, *, height: int, line: int) -> None:
        self.values += size
        if self.values > MAX_VALUES:
            raise self.fail(
                f"the {self.what} holds more than {MAX_VALUES:,} values once its aliases "
                "(*name) are expanded",
                line=line,
                where=self._where(),
                fix="Write the values out instead of repeating aliases of aliases, "
                "or check that this is the right file",
            )
        if len(self.stack) + height > MAX_DEPTH:
            raise self.fail(
                f"nested more than {MAX_DEPTH} levels deep once its aliases (*name) are expanded",
                line=line,
                where=self._where(),
                fix="Write the values out instead of nesting aliases inside anchors",
            )

    def _alias(self, anchor: str, *, line: int) -> None:
        self.aliases += 1
        where = self._where()
        if self.aliases > MAX_ALIASES:
            raise self.fail(
                f"the {self.what} uses more than {MAX_ALIASES} aliases (*name)",
                line=line,
                where=where,
                fix="Write the values out instead of repeating aliases",
            )
        target = self.anchors.get(anchor)
        if target is None:
            if any(o.anchor == anchor for o in self.stack):
                raise self.fail(
                    f"the alias *{anchor} is inside the value anchored as &{anchor} "
                    "(a value cannot contain itself)",
                    line=line,
                    where=where,
                    fix="Write the values out",
                )
            raise self.fail(
                f"the alias *{anchor} refers to no anchor &{anchor} before it",
                line=line,
                where=where,
                fix=f"Define &{anchor} earlier in the file, or write the value out",
            )
        self._count(target.size, height=target.height, line=line)
        self._place(target.value, size=target.size, height=target.height, line=line, alias=True)

    def _remember(self, anchor: str | None, value: YamlValue, *, size: int, height: int) -> None:
        if anchor is not None:
            self.anchors[anchor] = _Anchored(value, size=size, height=height)

    def _place(
        self,
        value: YamlValue,
        *,
        size: int,
        height: int,
        line: int,
        plain: bool = False,
        alias: bool = False,
    ) -> None:
        """Put a finished value into the open mapping or list (or make it the document)."""
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.size += size
        top.height = max(top.height, height + 1)
        if isinstance(top.value, YamlList):
            top.value.append(value)
            return
        if top.key is None:
            if not isinstance(value, YamlText):
                kind = "a list" if isinstance(value, YamlList) else "a mapping"
                raise self.fail(
                    f"a key must be text, not {kind}",
                    line=line,
                    where=top.where,
                    fix="Write keys as plain names, like 'name:'",
                )
            if _LINE_BREAK.search(value):
                raise self.fail(
                    f"the key {shown(value)} runs over more than one line",
                    line=line,
                    where=top.where,
                    fix="Write each key on one line, like 'name:'",
                )
            top.key = value
            top.merge_key = plain and not alias and value == "<<"
            return
        key, top.key = top.key, None
        if top.merge_key:
            top.merge_key = False
            given = value if isinstance(value, YamlList) else [value]
            sources = [s for s in given if isinstance(s, YamlMap)]
            if len(sources) != len(given):
                raise self.fail(
                    "a merge key '<<' must be followed by a mapping or a list of mappings "
                    "(such as *defaults)",
                    line=line,
                    where=top.where,
                    fix="Give an alias of a mapping after '<<:', or remove the line",
                )
            if top.merged_by is not None:
                raise self._twice(top, key, first=top.merged_by.line)
            top.merged_by = key
            top.merges.extend(sources)
            return
        if key in top.value:
            first = next(k for k in top.value if k == key)
            raise self._twice(top, key, first=line_of(first))
        top.value[key] = value

    def _twice(self, top: _Open, key: YamlText, *, first: int | None) -> YamlError:
        before = f" (first on line {first})" if first not in (None, key.line) else ""
        return self.fail(
            f"the key {shown(key)} is given twice in the same mapping{before}",
            line=key.line,
            where=f"{top.where}.{key}" if top.where else str(key),
            fix="Keep one of them: YAML would silently use the last",
        )

    def _merge(self, done: _Open) -> None:
        """Add merged keys (``<<``) that the mapping does not give itself; earlier merges win."""
        target = done.value
        assert isinstance(target, YamlMap)
        for source in done.merges:
            for key, value in source.items():
                if key not in target:
                    target[key] = value
