"""Report: renders one ReportModel (report/model.py), judged by compare/, into the report's pages,
summary.json and figures; reads no artifact and computes no metric (report/cli.py is the stage's door).
numpy and matplotlib only."""
