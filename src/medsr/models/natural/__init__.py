"""Networks of the review section 3.4 (natural images)."""
