// Tests for networks pages and API.
