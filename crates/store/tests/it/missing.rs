//! missing tests (both engines where storage is involved).
