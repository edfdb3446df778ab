"""Scenario runner: scripted conversations against assistants."""
