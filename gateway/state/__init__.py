"""The service's durable state: the SQLite store and its tables, the committer that writes effects before their
causes are acknowledged, the periodic snapshots, and the start-up checks of the files."""
