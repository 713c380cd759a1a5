"""Zip archives (GTFS feeds, Excel workbooks) are checked before they are read, and fail cleanly.

Every hostile archive here is built by the test: a member whose data was damaged
(a flipped byte), encrypted members, an unknown compression method, a path that
leads outside the archive, a member declaring gigabytes, a member that expands
more than a thousand times, a header that lies about a member's size.
"""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from geomap import errors
from geomap.cli import main
from geomap.io import MAX_GTFS_BYTES, archive_limit, check_zip, read_table
from geomap.travel.gtfs import load_gtfs

TINY = Path(__file__).parent / "fixtures" / "gtfs" / "tiny"
WEDNESDAY = "2024-01-17"

LOCAL = b"PK\x03\x04"
CENTRAL = b"PK\x01\x02"


def tiny_zip(path: Path, *, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for file in sorted(TINY.iterdir()):
            archive.write(file, file.name)
    return path


def workbook(path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["id", "name", "kind", "postcode"])
    sheet.append([116884, "St Francis Xavier's Primary School", "primary", "HR1 1DT"])
    book.save(path)
    return path


def patch_member(
    path: Path,
    member: str,
    *,
    flag: int | None = None,
    method: int | None = None,
    size: int | None = None,
    compressed_size: int | None = None,
) -> None:
    """Rewrite fields of ``member`` in both its local header and its central directory entry."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    local = info.header_offset
    assert data[local : local + 4] == LOCAL
    name = member.encode()
    central = data.find(CENTRAL)
    while (
        data[central + 46 : central + 46 + struct.unpack_from("<H", data, central + 28)[0]] != name
    ):
        central = data.find(CENTRAL, central + 4)
        assert central >= 0, f"no central directory entry for {member}"
    # (local offset, central offset, format) of each field
    fields = {
        "flag": (6, 8, "<H", flag),
        "method": (8, 10, "<H", method),
        "compressed": (18, 20, "<I", compressed_size),
        "size": (22, 24, "<I", size),
    }
    for at_local, at_central, fmt, value in fields.values():
        if value is None:
            continue
        if fmt == "<H" or not info.flag_bits & 0x08:  # sizes may live in a data descriptor
            struct.pack_into(fmt, data, local + at_local, value)
        struct.pack_into(fmt, data, central + at_central, value)
    path.write_bytes(bytes(data))


def flip_data_byte(path: Path, member: str) -> None:
    """Flip one byte in the middle of ``member``'s (compressed) data."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    start = info.header_offset
    name_len, extra_len = struct.unpack_from("<HH", data, start + 26)
    begin = start + 30 + name_len + extra_len
    data[begin + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))


# --------------------------------------------------------------------------- GTFS feeds


def test_a_sound_feed_is_read_as_a_stream_not_whole(tmp_path, monkeypatch):
    feed = tiny_zip(tmp_path / "tiny.zip")

    def whole(*_args, **_kwargs):
        raise AssertionError("a member was read whole into memory")

    monkeypatch.setattr(zipfile.ZipFile, "read", whole)
    timetable = load_gtfs(feed, date=WEDNESDAY)
    assert len(timetable.trips) > 0


# (case, how to spoil the feed, error class, words the message must contain)
GTFS_CASES = [
    (
        "bad CRC in a stored member",
        lambda p: (tiny_zip(p, compression=zipfile.ZIP_STORED), flip_data_byte(p, "stops.txt")),
        errors.ArchiveError,
        ["damaged", "'stops.txt'", "CRC"],
    ),
    (
        "damaged deflate stream",
        lambda p: (tiny_zip(p), flip_data_byte(p, "stop_times.txt")),
        errors.ArchiveError,
        ["damaged", "'stop_times.txt'"],
    ),
    (
        "encrypted member",
        lambda p: (tiny_zip(p), patch_member(p, "trips.txt", flag=0x01)),
        errors.ArchiveError,
        ["'trips.txt'", "encrypted"],
    ),
    (
        "unknown compression method",
        lambda p: (tiny_zip(p), patch_member(p, "routes.txt", method=77)),
        errors.ArchiveError,
        ["'routes.txt'", "compression method 77", "Deflate"],
    ),
    (
        "Deflate64 from Windows",
        lambda p: (tiny_zip(p), patch_member(p, "routes.txt", method=9)),
        errors.ArchiveError,
        ["compression method 9 (Deflate64)"],
    ),
    (
        "member declaring gigabytes",
        lambda p: (tiny_zip(p), patch_member(p, "stops.txt", size=4_000_000_000)),
        errors.ArchiveError,
        ["'stops.txt'", "zip bombs"],
    ),
    (
        "header saying a member is shorter than it is",
        lambda p: (
            tiny_zip(p, compression=zipfile.ZIP_STORED),
            patch_member(p, "stop_times.txt", size=40, compressed_size=40),
        ),
        errors.ArchiveError,
        ["damaged", "'stop_times.txt'"],
    ),
    (
        "truncated archive",
        lambda p: p.write_bytes(tiny_zip(p).read_bytes()[:300]),
        errors.ArchiveError,
        ["not a readable zip archive", "download or copy it again"],
    ),
]


@pytest.mark.parametrize(
    ("spoil", "error", "words"),
    [case[1:] for case in GTFS_CASES],
    ids=[case[0] for case in GTFS_CASES],
)
def test_damaged_or_hostile_feeds_fail_cleanly(tmp_path, spoil, error, words):
    feed = tmp_path / "feed.zip"
    spoil(feed)
    with pytest.raises(error) as info:
        load_gtfs(feed, date=WEDNESDAY)
    message = str(info.value)
    assert str(feed) in message
    for word in words:
        assert word in message


def test_a_member_that_lies_about_its_size_is_not_read_past_it(tmp_path):
    # the header says 40 bytes; Python's zipfile returns at most that many, and the
    # CRC of those 40 bytes is wrong, so the lie is caught rather than believed
    feed = tiny_zip(tmp_path / "feed.zip")
    patch_member(feed, "stop_times.txt", size=40)
    with (
        zipfile.ZipFile(feed) as archive,
        archive.open("stop_times.txt") as stream,
        pytest.raises(zipfile.BadZipFile, match="CRC"),
    ):
        stream.read()
    with pytest.raises(errors.ArchiveError, match=r"'stop_times\.txt'"):
        load_gtfs(feed, date=WEDNESDAY)


def test_path_leading_outside_the_archive(tmp_path):
    feed = tiny_zip(tmp_path / "feed.zip")
    with zipfile.ZipFile(feed, "a") as archive:
        archive.writestr("../../etc/cron.d/evil", "x")
    with pytest.raises(errors.ArchiveError, match=r"'\.\./\.\./etc/cron\.d/evil'.*outside"):
        load_gtfs(feed, date=WEDNESDAY)
    absolute = tiny_zip(tmp_path / "absolute.zip")
    with zipfile.ZipFile(absolute, "a") as archive:
        info = zipfile.ZipInfo("placeholder")
        info.filename = "/tmp/evil.txt"  # ZipInfo strips a leading slash; set it back
        archive.writestr(info, "x")
    with pytest.raises(errors.ArchiveError, match="outside the archive"):
        load_gtfs(absolute, date=WEDNESDAY)


def test_highly_compressible_member_is_refused_as_a_bomb(tmp_path):
    feed = tiny_zip(tmp_path / "feed.zip")
    with zipfile.ZipFile(feed, "a", compression=zipfile.ZIP_BZIP2) as archive:
        archive.writestr("shapes.txt", b"\0" * 20_000_000)
    with pytest.raises(errors.ArchiveError) as info:
        load_gtfs(feed, date=WEDNESDAY)
    message = str(info.value)
    assert "'shapes.txt'" in message and "zip bombs" in message and "20.0 MB" in message


def test_size_limit_names_the_setting_that_raises_it(tmp_path, monkeypatch):
    feed = tiny_zip(tmp_path / "feed.zip")
    monkeypatch.setenv("GEOMAP_MAX_GTFS_BYTES", "1000")
    with pytest.raises(errors.ArchiveError) as info:
        load_gtfs(feed, date=WEDNESDAY)
    message = str(info.value)
    assert "more than geomap's limit of 1.0 KB" in message
    assert "GEOMAP_MAX_GTFS_BYTES" in message
    monkeypatch.setenv("GEOMAP_MAX_GTFS_BYTES", "1MB")
    assert len(load_gtfs(feed, date=WEDNESDAY).trips) > 0


def test_declared_gigabytes_within_a_raised_limit_still_fail_cleanly(tmp_path, monkeypatch):
    # a member declaring 3 GB of a few bytes' data: with the limit raised far
    # enough the check lets it through, and reading it fails as a damaged member
    feed = tiny_zip(tmp_path / "feed.zip", compression=zipfile.ZIP_STORED)
    patch_member(feed, "stops.txt", size=3_000_000_000, compressed_size=3_000_000_000)
    with pytest.raises(errors.ArchiveError, match=r"would expand to 3\.0 GB"):
        check_zip(feed, what="GTFS feed", max_bytes=1_000_000_000)
    monkeypatch.setenv("GEOMAP_MAX_GTFS_BYTES", "10GB")
    with pytest.raises(errors.InputError) as info:
        load_gtfs(feed, date=WEDNESDAY)
    assert str(feed) in str(info.value)


def test_hostile_feed_through_the_cli(tmp_path):
    feed = tiny_zip(tmp_path / "feed.zip")
    patch_member(feed, "trips.txt", flag=0x01)
    origins = tmp_path / "o.csv"
    origins.write_text("id,easting,northing\na,350000,240000\n")
    destinations = tmp_path / "d.csv"
    destinations.write_text("id,easting,northing\nc,370000,240000\n")
    out = tmp_path / "t.csv"
    result = CliRunner().invoke(
        main,
        [
            "times",
            "--mode",
            "pt",
            "--gtfs",
            str(feed),
            "--date",
            WEDNESDAY,
            "--origins",
            str(origins),
            "--destinations",
            str(destinations),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "'trips.txt'" in result.output and "encrypted" in result.output
    assert not out.exists()


# --------------------------------------------------------------------------- workbooks


XLSX_SHEET = "xl/worksheets/sheet1.xml"

XLSX_CASES = [
    (
        "encrypted part",
        lambda p: patch_member(p, XLSX_SHEET, flag=0x01),
        ["'xl/worksheets/sheet1.xml'", "encrypted"],
    ),
    (
        "unknown compression",
        lambda p: patch_member(p, XLSX_SHEET, method=99),
        ["compression method 99 (AES encryption)"],
    ),
    (
        "part declaring gigabytes",
        lambda p: patch_member(p, XLSX_SHEET, size=3_500_000_000),
        ["zip bombs"],
    ),
    (
        "damaged part",
        lambda p: flip_data_byte(p, XLSX_SHEET),
        ["damaged"],
    ),
]


@pytest.mark.parametrize(
    ("spoil", "words"), [case[1:] for case in XLSX_CASES], ids=[case[0] for case in XLSX_CASES]
)
def test_damaged_or_hostile_workbooks_fail_cleanly(tmp_path, spoil, words):
    book = workbook(tmp_path / "providers.xlsx")
    spoil(book)
    with pytest.raises(errors.InputError) as info:
        read_table(book, what="provider list")
    message = str(info.value)
    assert str(book) in message
    for word in words:
        assert word in message


def test_workbook_too_large_names_the_setting(tmp_path, monkeypatch):
    book = workbook(tmp_path / "providers.xlsx")
    monkeypatch.setenv("GEOMAP_MAX_WORKBOOK_BYTES", "2KB")
    with pytest.raises(errors.ArchiveError, match="GEOMAP_MAX_WORKBOOK_BYTES"):
        read_table(book)
    monkeypatch.delenv("GEOMAP_MAX_WORKBOOK_BYTES")
    assert read_table(book)["id"].tolist() == ["116884"]


def test_workbook_with_an_entity_expansion_attack_is_refused(tmp_path):
    import openpyxl

    assert openpyxl.DEFUSEDXML  # defusedxml is installed and openpyxl uses it
    book = workbook(tmp_path / "laughs.xlsx")
    with zipfile.ZipFile(book) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    # the "billion laughs": nine levels of entities, each ten of the one below
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    sheet = parts[XLSX_SHEET].decode()
    body = sheet[sheet.index("<worksheet") :]
    parts[XLSX_SHEET] = f'<?xml version="1.0"?>\n<!DOCTYPE lolz [{entities}]>\n{body}'.encode()
    with zipfile.ZipFile(book, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    with pytest.raises(errors.ArchiveError) as info:
        read_table(book)
    assert "declares entities" in str(info.value) and str(book) in str(info.value)


def test_hostile_workbook_through_the_cli(tmp_path):
    book = workbook(tmp_path / "providers.xlsx")
    patch_member(book, XLSX_SHEET, size=3_500_000_000)
    result = CliRunner().invoke(main, ["providers", str(book)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    assert "zip bombs" in result.output


# --------------------------------------------------------------------------- limits


@pytest.mark.parametrize(
    ("value", "expected"),
    [("", MAX_GTFS_BYTES), ("1000", 1000), ("40GB", 40_000_000_000), ("2.5 mb", 2_500_000)],
)
def test_archive_limit_from_the_environment(monkeypatch, value, expected):
    monkeypatch.setenv("GEOMAP_MAX_GTFS_BYTES", value)
    assert archive_limit("GEOMAP_MAX_GTFS_BYTES", MAX_GTFS_BYTES) == expected


def test_archive_limit_that_is_not_a_size(monkeypatch):
    monkeypatch.setenv("GEOMAP_MAX_GTFS_BYTES", "lots")
    with pytest.raises(errors.InputError, match="GEOMAP_MAX_GTFS_BYTES='lots' is not a size"):
        archive_limit("GEOMAP_MAX_GTFS_BYTES", MAX_GTFS_BYTES)
