"""Services: the business rules that entry points (admin, views, API, tasks, commands) call."""
