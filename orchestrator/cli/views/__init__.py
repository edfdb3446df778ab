"""Everything the commands print: plans and diffs, apply progress, scenario progress and
reports, errors and prompts. The library returns data; these turn it into text."""
