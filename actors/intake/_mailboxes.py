"""Mailboxes that are no company's: personal mailbox providers, and shared addresses.

An email at a personal mailbox provider says who a person is, not where they work: its
domain is the provider's, so it can neither name the company for research nor bound the
draft's links. A shared address (``info@``) reaches a team, or no one.
"""

from __future__ import annotations

PERSONAL_MAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "yahoo.com",
        "ymail.com",
        "hotmail.com",
        "live.com",
        "outlook.com",
        "msn.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "mail.com",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "zoho.com",
        "fastmail.com",
        "hey.com",
        "yahoo.co.uk",
        "hotmail.co.uk",
        "orange.fr",
        "free.fr",
        "laposte.net",
        "libero.it",
    }
)
"""Mailbox providers whose addresses belong to people, not to the companies they work for."""

SHARED_MAILBOXES = frozenset(
    {
        "info",
        "sales",
        "admin",
        "support",
        "hello",
        "contact",
        "office",
        "team",
        "noreply",
        "no-reply",
        "marketing",
        "billing",
        "help",
        "enquiries",
        "inquiries",
        "careers",
        "jobs",
        "hr",
        "press",
        "service",
        "mail",
        "webmaster",
        "accounts",
        "privacy",
    }
)
"""Local parts of addresses that several people, or nobody, read."""


def is_personal_mailbox(domain: str) -> bool:
    """Whether ``domain`` (lower case) is a personal mailbox provider's."""
    return domain in PERSONAL_MAIL_DOMAINS


def mailbox_of(email: str) -> str:
    """The mailbox an address (normalised) goes to: its local part without a ``+tag``."""
    return email.partition("@")[0].partition("+")[0]


def is_shared_mailbox(email: str) -> bool:
    """Whether ``email`` (normalised) goes to a shared mailbox; ``+tags`` are ignored."""
    return mailbox_of(email) in SHARED_MAILBOXES
