"""Networks of the review section 4 (medical images)."""
