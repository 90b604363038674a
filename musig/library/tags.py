"""Tags and stream facts of one audio file, read with mutagen (no decoding)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from musig.library.formats import LOSSLESS_EXTENSIONS

LOW_BITRATE_KBPS = 96  # lossy files below this are flagged: codec damage reaches the features
TAG_FIELDS = ("title", "artist", "album", "genre", "tracknumber")

# The same fields as ID3 frames, for ID3 tags in WAV and AIFF files (mutagen has no "easy" view).
_ID3 = {"title": "TIT2", "artist": "TPE1", "album": "TALB", "genre": "TCON", "tracknumber": "TRCK"}
_LOSSLESS_CODECS = ("alac", "flac")


@dataclass(frozen=True)
class FileInfo:
    """What a library knows about a file before decoding it.

    Attributes:
        title / artist / album / genre: tag text ("" when absent; the title falls back to the
            file name without extension).
        tracknumber: track number (0 when absent); "3/12" reads as 3.
        duration_s: stream length in seconds (NaN when mutagen cannot tell).
        bitrate_kbps: bitrate in kb/s (NaN when unknown).
        lossless: the format is lossless (WAV, FLAC, AIFF, ALAC in MP4).
        warning: a reason to distrust the file's features ("" when none), e.g. a low bitrate.
    """

    title: str
    artist: str = ""
    album: str = ""
    genre: str = ""
    tracknumber: int = 0
    duration_s: float = float("nan")
    bitrate_kbps: float = float("nan")
    lossless: bool = False
    warning: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _first(value) -> str:
    """First text of a tag value (mutagen gives lists of strings, or ID3 frames)."""
    if value is None:
        return ""
    if hasattr(value, "text"):  # an ID3 frame
        value = value.text
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    return str(value).strip()


def _track_number(text: str) -> int:
    head = text.split("/", 1)[0].strip()
    return int(head) if head.isdigit() else 0


def read_info(path: str | Path) -> FileInfo:
    """Tags, length and bitrate of an audio file; never raises for a bad or untagged file.

    Args:
        path: an audio file (any format mutagen knows: MP3, FLAC, Ogg, Opus, MP4/M4A, WAV, AIFF).

    Returns:
        A :class:`FileInfo`. Unreadable tags give empty fields, not an error: the decoder, not
        the tag reader, decides whether a file is usable.
    """
    import mutagen
    from mutagen.id3 import ID3

    path = Path(path)
    fields = dict.fromkeys(TAG_FIELDS, "")
    duration = bitrate = float("nan")
    codec = ""
    try:
        f = mutagen.File(path, easy=True)
    except Exception:  # mutagen raises many types for damaged headers; tags are optional
        f = None
    if f is not None:
        tags = f.tags
        if tags is not None:
            is_id3 = isinstance(tags, ID3)
            for name in TAG_FIELDS:
                key = _ID3[name] if is_id3 else name
                try:
                    fields[name] = _first(tags.get(key))
                except (KeyError, ValueError):
                    pass
        info = getattr(f, "info", None)
        duration = float(getattr(info, "length", 0.0) or float("nan"))
        bitrate = float(getattr(info, "bitrate", 0) or 0) / 1000 or float("nan")
        codec = str(getattr(info, "codec", "")).lower()
    ext = path.suffix.lower()
    lossless = ext in LOSSLESS_EXTENSIONS or codec.startswith(_LOSSLESS_CODECS)
    warning = ""
    if not lossless and bitrate == bitrate and bitrate < LOW_BITRATE_KBPS:
        warning = (
            f"low bitrate ({bitrate:.0f} kb/s < {LOW_BITRATE_KBPS} kb/s lossy): its features, "
            "and so its place in the embedding, may be off"
        )
    return FileInfo(
        title=fields["title"] or path.stem,
        artist=fields["artist"],
        album=fields["album"],
        genre=fields["genre"],
        tracknumber=_track_number(fields["tracknumber"]),
        duration_s=duration,
        bitrate_kbps=bitrate,
        lossless=lossless,
        warning=warning,
    )
