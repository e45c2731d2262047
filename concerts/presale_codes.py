"""Presale codes (인증 코드) as text: how a typed code is normalised, its keyed hash (the only form stored), new
random codes, how hard an uploaded code is to guess, and reading codes from an uploaded CSV."""

import csv
import io
import math
import secrets
import uuid
from collections.abc import Iterable
from typing import NamedTuple

from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

# No 0/O, 1/I/L: a code is read off a screen or a card and typed again.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
GENERATED_LENGTH = 12  # 31^12 ≈ 7.9e17: guessing one of 100,000 codes takes ~7.9e12 tries
MIN_LENGTH = 6  # what a typed code may be; an uploaded one must also reach MIN_UPLOADED_CODE_BITS
# Fans guess codes within the rate limit (presale_code: 10 tries an account, 200 an address, per 10 minutes), but
# across many accounts and addresses: 6 digits (20 bits) among 100,000 codes is one hit in ten tries. 40 bits among
# 100,000 codes is one hit in about 11 million tries. Generated codes have 59.
MIN_UPLOADED_CODE_BITS = 40
MAX_LENGTH = 64
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
MAX_CODES_PER_UPLOAD = 100_000
_SALT = "concerts.presale_codes.code_hash"


def normalize_code(raw: str) -> str | None:
    """The code as stored before hashing: upper case, without spaces and hyphens; None if it cannot be a code
    (empty, too short or long, other than ASCII letters and digits)."""
    code = "".join(raw.split()).replace("-", "").upper()
    if not MIN_LENGTH <= len(code) <= MAX_LENGTH or not code.isascii() or not code.isalnum():
        return None
    return code


def code_hash(presale_id: uuid.UUID, code: str) -> str:
    """The keyed hash of a normalised code (HMAC-SHA256, keyed from SECRET_KEY, naming the presale): what the
    database keeps and looks a typed code up by."""
    return salted_hmac(_SALT, f"{presale_id.hex}:{code}", algorithm="sha256").hexdigest()


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(GENERATED_LENGTH))


def guessing_bits(code: str) -> float:
    """How hard a normalised code is to guess, in bits, for someone who knows its shape (from their own code): its
    length times log2 of the characters its kind draws from (digits 10, letters 26, letters and digits 36)."""
    kinds = (10 if any(c.isdigit() for c in code) else 0) + (26 if any(c.isalpha() for c in code) else 0)
    return len(code) * math.log2(kinds) if kinds else 0.0


def is_too_easy_to_guess(code: str) -> bool:
    """Whether a normalised code is too weak to upload: under MIN_UPLOADED_CODE_BITS (fewer than 8 letters and digits
    mixed, 9 letters or 13 digits)."""
    return guessing_bits(code) < MIN_UPLOADED_CODE_BITS


def display_code(code: str) -> str:
    """A generated code in groups of four, as shown and downloaded (typing it with or without the hyphens works)."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


class CodeFileError(ValueError):
    """An uploaded code file that cannot be read; the message says why, for staff."""


class CodeFile(NamedTuple):
    """What an uploaded CSV of codes holds: the normalised codes (in file order), the numbers of the rows whose first
    cell is no code, and those of the rows whose code is too easy to guess (is_too_easy_to_guess)."""

    codes: list[str]
    bad_rows: list[int]
    weak_rows: list[int]


def parse_code_csv(content: bytes) -> CodeFile:
    """Read an uploaded CSV of codes: the first column of each row; a header row whose first cell is `code` is
    skipped; blank rows are ignored. Raises CodeFileError for a file that is too big, not UTF-8 text or has too
    many codes."""
    if len(content) > MAX_UPLOAD_BYTES:
        raise CodeFileError(_("The file is larger than %(size)s MB.") % {"size": MAX_UPLOAD_BYTES // (1024 * 1024)})
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CodeFileError(_("The file is not UTF-8 text.")) from exc
    parsed = CodeFile(codes=[], bad_rows=[], weak_rows=[])
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cell = row[0].strip() if row else ""
        if not cell or (number == 1 and cell.lower() in {"code", "codes", "코드", "인증 코드"}):
            continue
        code = normalize_code(cell)
        if code is None:
            parsed.bad_rows.append(number)
            continue
        if is_too_easy_to_guess(code):
            parsed.weak_rows.append(number)
        parsed.codes.append(code)
        if len(parsed.codes) > MAX_CODES_PER_UPLOAD:
            raise CodeFileError(_("More than %(count)s codes in one file.") % {"count": f"{MAX_CODES_PER_UPLOAD:,}"})
    return parsed


def codes_csv(codes: Iterable[str]) -> str:
    """Generated codes as a CSV to download (a header, then one code a row, as displayed)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code"])
    writer.writerows([display_code(code)] for code in codes)
    return out.getvalue()
