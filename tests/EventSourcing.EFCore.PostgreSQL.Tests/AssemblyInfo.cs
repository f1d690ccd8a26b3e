using NUnit.Framework;

// Suites share one store per provider and reset it before each test: run them one at a time.
// (This attribute also gives the assembly its direct NUnit reference, without which the adapter skips it.)
[assembly: Parallelizable(ParallelScope.None)]
