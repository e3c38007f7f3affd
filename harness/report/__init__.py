"""Report: verdicts in, markdown, summary.json and figures out. numpy and matplotlib only."""
