"""The report's sections, one module each, all with `render(model: ReportModel) -> str` (render.py orders them)."""
