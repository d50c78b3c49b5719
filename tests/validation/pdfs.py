"""Hand-written minimal PDFs with embedded files, for the reader's tests (hostile ones included).

Written byte by byte rather than with a PDF library so that a test controls exactly
what is inside: a Flate bomb that no library ever inflated, 300 attachments, a name tree with a cycle.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

MB = 1024 * 1024


def deflate(data: bytes) -> bytes:
    return zlib.compress(data, 9)


def zeros_bomb(inflated_size: int) -> bytes:
    """A zlib stream of `inflated_size` zero bytes, built 1 MB at a time (the zeros never sit in memory)."""
    compressor = zlib.compressobj(9)
    chunk = bytes(MB)
    parts = [compressor.compress(chunk) for _ in range(inflated_size // MB)]
    parts.append(compressor.flush())
    return b"".join(parts)


def _name(text: str) -> bytes:
    return b"(" + text.encode().replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def build_pdf(attachments: Iterable[tuple[str, bytes, bool]] = (), *, cyclic_name_tree: bool = False) -> bytes:
    """A one-page PDF whose /EmbeddedFiles name tree lists `attachments` as (file name, stream bytes, flate-encoded?).

    With `cyclic_name_tree`, the name tree's root lists itself in /Kids.
    """
    attachments = list(attachments)
    objects: list[bytes] = []  # object n is objects[n - 1]

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled below
    pages = add(b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    add(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>")
    pairs = []
    for name, data, flate in attachments:
        filters = b" /Filter /FlateDecode" if flate else b""
        stream = add(b"<< /Type /EmbeddedFile /Length %d%s >>\nstream\n" % (len(data), filters) + data + b"\nendstream")
        spec = add(b"<< /Type /Filespec /F %s /UF %s /EF << /F %d 0 R /UF %d 0 R >> >>" % (_name(name), _name(name), stream, stream))
        pairs.append(b"%s %d 0 R" % (_name(name), spec))
    names = b""
    if attachments or cyclic_name_tree:
        tree = len(objects) + 1
        kids = b" /Kids [%d 0 R]" % tree if cyclic_name_tree else b""
        add(b"<< /Names [" + b" ".join(sorted(pairs)) + b"]" + kids + b" >>")
        names = b" /Names << /EmbeddedFiles %d 0 R >>" % tree
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R%s >>" % (pages, names)

    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, catalog, xref)
    return bytes(out)
