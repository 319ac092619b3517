"""People's rights over their data (PIPL): find everything held about one person, export it
as JSON, and erase it while the counts others earned stay as they were."""
