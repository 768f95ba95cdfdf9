"""Patient accounts: the record (profile, preferences, wrapped patient key), its repository with
the patient index, the service (create, read, erase everything) and KEK rotation."""
