"""Which text the bytes of an RFC 2047 encoded word are: only real text charsets decode.

An encoded word names its charset (``=?gb2312?B?...?=``), and a stranger writes that name. Python
would decode with whatever codec the name finds, text or not: ``unicode_escape`` turns
``\\ud800`` into a lone surrogate no database stores, ``rot13`` or ``zlib`` are not charsets at
all. So only Python's "standard encodings" (the real mail charsets and their aliases, any case)
decode; anything else is read as UTF-8 with replacement and named in the record's problems. A
label whose text is, in practice, written in a larger superset (gb2312 read as GB18030…) is read
as mail clients read it (the WHATWG Encoding Standard's mapping).
"""

from __future__ import annotations

import codecs
from functools import lru_cache

#: The text encodings an encoded word may name: Python's "standard encodings" (the real mail
#: charsets and their aliases). Anything else a header names, such as ``unicode_escape`` (which
#: turns ``\\ud800`` into a lone surrogate), ``rot13``, ``base64`` or ``idna``, is not a charset: its
#: bytes are read as UTF-8 with replacement and the record says so.
TEXT_CHARSETS: frozenset[str] = frozenset(
    codecs.lookup(name).name
    for name in (
        *("ascii", "big5", "big5hkscs", "cp037", "cp273", "cp424", "cp437", "cp500", "cp720", "cp737"),
        *("cp775", "cp850", "cp852", "cp855", "cp856", "cp857", "cp858", "cp860", "cp861", "cp862"),
        *("cp863", "cp864", "cp865", "cp866", "cp869", "cp874", "cp875", "cp932", "cp949", "cp950"),
        *("cp1006", "cp1026", "cp1125", "cp1140", "cp1250", "cp1251", "cp1252", "cp1253", "cp1254"),
        *("cp1255", "cp1256", "cp1257", "cp1258", "euc_jp", "euc_jis_2004", "euc_jisx0213", "euc_kr"),
        *("gb2312", "gbk", "gb18030", "hz", "iso2022_jp", "iso2022_jp_1", "iso2022_jp_2"),
        *("iso2022_jp_2004", "iso2022_jp_3", "iso2022_jp_ext", "iso2022_kr", "latin_1", "johab"),
        *(f"iso8859_{n}" for n in (2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 15, 16)),
        *("koi8_r", "koi8_t", "koi8_u", "kz1048", "mac_cyrillic", "mac_greek", "mac_iceland"),
        *("mac_latin2", "mac_roman", "mac_turkish", "ptcp154", "shift_jis", "shift_jis_2004"),
        *("shift_jisx0213", "utf_32", "utf_32_be", "utf_32_le", "utf_16", "utf_16_be", "utf_16_le"),
        *("utf_7", "utf_8", "utf_8_sig"),
    )
)


@lru_cache(maxsize=512)
def text_charset(label: str) -> str | None:
    """The codec a charset label names, when it is a text charset (any case, any alias)."""
    try:
        name = codecs.lookup(label).name
    except (LookupError, ValueError, TypeError):
        return None
    return name if name in TEXT_CHARSETS else None


#: Charsets whose text is, in practice, written in a larger superset (the WHATWG Encoding
#: Standard maps the labels so): tried only when the declared charset fails to decode. Keyed by
#: codec, so ``GB2312``, ``gb2312`` and ``csGB2312`` all find theirs.
SUPERSETS: dict[str, str] = {
    codecs.lookup(label).name: wider
    for label, wider in (
        ("gb2312", "gb18030"),
        ("gbk", "gb18030"),
        ("iso-8859-1", "cp1252"),
        ("us-ascii", "cp1252"),
        ("euc-kr", "cp949"),
        ("shift_jis", "cp932"),
        ("tis-620", "cp874"),
        ("iso-8859-11", "cp874"),
    )
}


_LATIN1 = codecs.lookup("latin-1").name


def decode_word(data: bytes, label: str, problems: list[str], field: str) -> str:
    """The bytes of one encoded word as text: in the charset it names when that is a text
    charset (or the superset mail clients read it as), else UTF-8 with replacement."""
    charset = text_charset(label)
    if charset is None:
        problems.append(f"{field}: unknown or not a text charset {label[:40]!r} (read as UTF-8)")
        return data.decode("utf-8", errors="replace")
    wider = SUPERSETS.get(charset)
    # what mail clients do (WHATWG Encoding): gb2312 is read as GB18030, latin-1 as cp1252…;
    # latin-1 never fails to decode (its 0x80-0x9F are C1 controls), so cp1252 goes first there
    for codec in (wider, charset) if charset == _LATIN1 else (charset, wider):
        if codec is None:
            continue
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            pass
    problems.append(f"{field}: bytes that are not {label[:40]!r} (replaced)")
    return data.decode(charset, errors="replace")


__all__ = ["SUPERSETS", "TEXT_CHARSETS", "decode_word", "text_charset"]
