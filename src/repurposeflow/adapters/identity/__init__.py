"""Identity adapters: Clerk (``clerk``) and an in-process fake (``fake``)."""

from repurposeflow.adapters.identity.clerk import ClerkIdentityVerifier, ClerkSettings
from repurposeflow.adapters.identity.fake import FakeIdentityVerifier

__all__ = ["ClerkIdentityVerifier", "ClerkSettings", "FakeIdentityVerifier"]
