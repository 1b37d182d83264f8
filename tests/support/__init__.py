"""Test helpers shared across test packages (servers, fakes); not tests themselves."""
