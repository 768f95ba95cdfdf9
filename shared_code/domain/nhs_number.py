"""NHS number: 10 digits, the 10th a modulus-11 check digit over the first nine (weights 10..2).

A remainder giving check digit 10 makes the number invalid; all-identical digits pass the arithmetic
but are not issued, so they are refused too."""
from __future__ import annotations


def is_valid_nhs_number(value: str) -> bool:
    if len(value) != 10 or not value.isascii() or not value.isdigit():
        return False
    if len(set(value)) == 1:
        return False
    total = sum(int(d) * w for d, w in zip(value[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(value[9])


def normalise_nhs_number(value: str) -> str:
    """Accept the printed form `943 476 5919` as well as `9434765919`."""
    return value.replace(" ", "").replace("-", "")
