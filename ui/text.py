"""Wording the pages share: how a digit, a confidence, a size are written."""

from __future__ import annotations


def a_digit(digit: int) -> str:
    """"a 7", "an 8": the article a reader expects before a digit."""
    return f"an {digit}" if digit == 8 else f"a {digit}"


def sure_text(confidence: float) -> str:
    """"97.3% sure", "> 99.9% sure": never a rounded "100.0%", which a model never is."""
    return "> 99.9% sure" if confidence >= 0.9995 else f"{confidence:.1%} sure"


def megabytes(size_bytes: int) -> str:
    """"2.4 MB" (MB of 1024 x 1024 bytes, as the upload limit counts them)."""
    return f"{size_bytes / (1024 * 1024):.1f} MB"
