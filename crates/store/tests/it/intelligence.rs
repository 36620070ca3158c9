// Tests for intelligence (store contract tests on both engines).
