"""Recipient lists as people bring them: a CSV file (a school system's export) or pasted text.

Only the numbers are picked out here; `bulk.recipients_normalize` decides which are valid.
"""

import csv
import io
import re

from core.error_codes import ErrorCode
from core.errors import TwilioError

# Headers of the column that holds the numbers, when the first row is a header.
NUMBER_HEADERS = frozenset(
    {"phone", "phone number", "phone_number", "phonenumber", "number", "mobile", "cell", "to", "recipient"}
)
_SEPARATORS = re.compile(r"[\n\r,;\t]+")


def recipients_from_csv(data: bytes, *, parameter: str = "recipients_file") -> list[str]:
    """The numbers in a CSV file: the column headed like a phone number when the first row is a header
    (a row without a digit), else the first column. Blank cells are skipped; 20422 unless UTF-8."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TwilioError(
            ErrorCode.INVALID_PARAMETER, f"Invalid parameter {parameter}: not a UTF-8 CSV file", 400
        ) from exc
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except csv.Error as exc:  # a cell over the csv module's field limit (128 KiB), a stray NUL
        raise TwilioError(ErrorCode.INVALID_PARAMETER, f"Invalid parameter {parameter}: {exc}", 400) from exc
    column = 0
    if rows and not any(char.isdigit() for cell in rows[0] for char in cell):
        headers = [cell.strip().lower() for cell in rows[0]]
        column = next((i for i, name in enumerate(headers) if name in NUMBER_HEADERS), 0)
        rows = rows[1:]
    return [row[column].strip() for row in rows if len(row) > column and row[column].strip()]


def recipients_from_text(text: str) -> list[str]:
    """Numbers pasted one per line, or separated by commas, semicolons or tabs."""
    return [part.strip() for part in _SEPARATORS.split(text) if part.strip()]
