using NUnit.Framework;

// The scenarios share one PostgreSQL cluster that one of them restarts: never run them in parallel.
[assembly: NonParallelizable]
[assembly: LevelOfParallelism(1)]
