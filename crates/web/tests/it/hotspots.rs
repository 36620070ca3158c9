// Tests for hotspots pages and API.
