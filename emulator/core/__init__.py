"""What every service shares: clock, ids, documents, blobs, accounts, errors, runtime."""
