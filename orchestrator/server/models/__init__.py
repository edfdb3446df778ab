"""Model providers: what generates the assistant's next step inside a run."""
