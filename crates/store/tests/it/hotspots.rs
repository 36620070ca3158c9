// Tests for hotspots (store contract tests on both engines).
