// Tests for intelligence pages and API.
