using EventSourcing.EFCore.Testing;
using Microsoft.EntityFrameworkCore;
using NUnit.Framework;

namespace EventSourcing.EFCore.Tests;

/// <summary>The Testing package's aggregate specifications: given events, when a command, then events or an exception.</summary>
public sealed class AggregateSpecificationTests
{
    [Test]
    public void Then_passes_when_the_command_raises_the_expected_events_on_the_state_the_given_events_built()
    {
        var seed = Random.Shared.Next();
        TestContext.Out.WriteLine($"seed {seed}");
        var random = new Random(seed);
        for (var i = 0; i < 200; i++)
        {
            var id = Guid.NewGuid();
            var deposits = Enumerable.Range(0, random.Next(0, 10)).Select(_ => (decimal)random.Next(1, 100)).ToArray();
            var amount = (decimal)random.Next(1, 300);
            var given = new List<object> { new WalletOpened(id) };
            given.AddRange(deposits.Select(d => new Deposited(d)));
            var specification = AggregateSpecification.For<Wallet>().Given([.. given]).When(w => w.Withdraw(amount));

            if (amount <= deposits.Sum())
            {
                var wallet = specification.Then(new Withdrawn(amount));
                Assert.That(wallet.Balance, Is.EqualTo(deposits.Sum() - amount));
                Assert.That(wallet.Version, Is.EqualTo(given.Count), "the given events count as stored");
                Assert.That(wallet.Id, Is.EqualTo(id));
            }
            else
            {
                var error = specification.ThenThrows<InvalidOperationException>();
                Assert.That(error.Message, Is.EqualTo($"Insufficient funds: {deposits.Sum()} < {amount}."));
            }
        }
    }

    [Test]
    public void A_creating_command_and_a_command_that_raises_nothing()
    {
        var id = Guid.NewGuid();
        var wallet = AggregateSpecification.For<Wallet>().When(() => Wallet.Open(id)).Then(new WalletOpened(id));
        Assert.That(wallet.Id, Is.EqualTo(id));
        AggregateSpecification.For<Wallet>().Given(new WalletOpened(id)).When(w => w.Withdraw(0)).Then();
        AggregateSpecification.For<Wallet>().Given(new EventData(new WalletOpened(id)), new Deposited(5))
            .When(w => w.Deposit(2)).Then(new EventData(new Deposited(2)));
    }

    [Test]
    public void A_failed_Then_shows_the_given_expected_and_actual_events()
    {
        var id = Guid.Parse("0f8fad5b-d9cb-469f-a165-70867728950e");
        var error = Assert.Throws<AggregateSpecificationException>(() => AggregateSpecification.For<Wallet>()
            .Given(new WalletOpened(id), new Deposited(50))
            .When(w => w.Withdraw(20))
            .Then(new Withdrawn(25), new Deposited(1)));

        Assert.That(error!.Message, Is.EqualTo(
            "Wallet: expected 2 events, the command raised 1 event; first difference at event 1." + Environment.NewLine
            + "Given:" + Environment.NewLine
            + "  1. WalletOpened {\"id\":\"0f8fad5b-d9cb-469f-a165-70867728950e\"}" + Environment.NewLine
            + "  2. Deposited {\"amount\":50}" + Environment.NewLine
            + "Expected:" + Environment.NewLine
            + "  1. Withdrawn {\"amount\":25}" + Environment.NewLine
            + "  2. Deposited {\"amount\":1}" + Environment.NewLine
            + "Actual:" + Environment.NewLine
            + "  1. Withdrawn {\"amount\":20}"));
        Assert.That(error.Expected, Is.EqualTo(new object[] { new Withdrawn(25), new Deposited(1) }));
        Assert.That(error.Actual, Is.EqualTo(new object[] { new Withdrawn(20) }));

        var extra = Assert.Throws<AggregateSpecificationException>(() => AggregateSpecification.For<Wallet>()
            .Given(new WalletOpened(id), new Deposited(50)).When(w => w.Withdraw(20)).Then());
        Assert.That(extra!.Message, Does.StartWith("Wallet: expected 0 events, the command raised 1 event; first difference at event 1."));
        Assert.That(extra.Message, Does.Contain("Expected: (none)"));
    }

    [Test]
    public void Events_of_the_same_type_and_JSON_are_equal_without_Equals()
    {
        AggregateSpecification.For<Wallet>().Given(new WalletOpened(Guid.NewGuid())).When(w => w.Note("x")).Then(new Noted("x"));
        var error = Assert.Throws<AggregateSpecificationException>(() => AggregateSpecification.For<Wallet>()
            .Given(new WalletOpened(Guid.NewGuid())).When(w => w.Note("x")).Then(new Noted("y")));
        Assert.That(error!.Message, Does.Contain("Expected:" + Environment.NewLine + "  1. Noted {\"text\":\"y\"}"));
        Assert.That(error.Message, Does.Contain("Actual:" + Environment.NewLine + "  1. Noted {\"text\":\"x\"}"));
    }

    [Test]
    public void ThenThrows_fails_when_the_command_completes_and_other_exceptions_propagate()
    {
        var id = Guid.NewGuid();
        var error = Assert.Throws<AggregateSpecificationException>(() => AggregateSpecification.For<Wallet>()
            .Given(new WalletOpened(id), new Deposited(50)).When(w => w.Withdraw(20)).ThenThrows<InvalidOperationException>());
        Assert.That(error!.Message, Does.StartWith("Wallet: expected the command to throw InvalidOperationException, but it completed and raised 1 event."));
        Assert.That(error.Message, Does.Contain("Withdrawn {\"amount\":20}"));

        Assert.Throws<ArgumentOutOfRangeException>(() => AggregateSpecification.For<Wallet>()
            .Given(new WalletOpened(id)).When(w => w.Deposit(-1)).ThenThrows<InvalidOperationException>(), "another exception type is not swallowed");
        Assert.Throws<ArgumentOutOfRangeException>(() => AggregateSpecification.For<Wallet>()
            .Given(new WalletOpened(id)).When(w => w.Deposit(-1)).Then(), "Then lets the command's exception through");
        Assert.That(AggregateSpecification.For<Wallet>().Given(new WalletOpened(id)).When(w => w.Deposit(-1)).ThenThrows<ArgumentException>().ParamName, Is.EqualTo("amount"), "a derived type matches");
    }

    [Test]
    public void Misuse_is_reported_with_what_to_do()
    {
        var id = Guid.NewGuid();
        Assert.That(Assert.Throws<InvalidOperationException>(() => AggregateSpecification.For<Wallet>().Given(new WalletOpened(id)).Then())!.Message, Does.Contain("has no command"));
        Assert.That(Assert.Throws<InvalidOperationException>(() => AggregateSpecification.For<Wallet>().When(w => w.Deposit(1)).When(w => w.Deposit(2)))!.Message, Does.Contain("call When once"));
        Assert.That(Assert.Throws<InvalidOperationException>(() => AggregateSpecification.For<Wallet>().Given(new WalletOpened(id)).When(() => Wallet.Open(id)).Then())!.Message, Does.Contain("creating command"));
        Assert.Throws<EventHandlerMissingException>(() => AggregateSpecification.For<Wallet>().Given(new Unhandled()).When(w => w.Deposit(1)).Then(), "a given event without a handler fails as a load would");
        Assert.Throws<ArgumentNullException>(() => AggregateSpecification.For<Wallet>().Given(null!));
    }

    [Test]
    public async Task PostgreSqlTestDatabase_needs_a_PostgreSQL_context_and_InitializeAsync_first()
    {
        var options = new DbContextOptionsBuilder<UnitDbContext>().UseInMemoryDatabase(Guid.NewGuid().ToString()).UseEventSourcing(_ => { }).Options;
        var database = new PostgreSqlTestDatabase<UnitDbContext>(() => new UnitDbContext(options));
        var reset = Assert.ThrowsAsync<InvalidOperationException>(() => database.ResetAsync());
        Assert.That(reset!.Message, Does.Contain("InitializeAsync"));
        var init = Assert.ThrowsAsync<InvalidOperationException>(() => database.InitializeAsync());
        Assert.That(init!.Message, Does.Contain("UseNpgsql").And.Contain("Microsoft.EntityFrameworkCore.InMemory"));
        await using var db = database.CreateContext();
        Assert.That(db, Is.Not.Null);
    }

    private sealed record WalletOpened(Guid Id);

    private sealed record Deposited(decimal Amount);

    private sealed record Withdrawn(decimal Amount);

    private sealed record Unhandled;

    /// <summary>Not a record: compared by type and JSON.</summary>
    private sealed class Noted(string text)
    {
        public string Text { get; } = text;
    }

    private sealed class Wallet : AggregateRoot<Guid>
    {
        private Wallet()
        {
        }

        public decimal Balance { get; private set; }

        public static Wallet Open(Guid id)
        {
            var wallet = new Wallet();
            wallet.Raise(new WalletOpened(id));
            return wallet;
        }

        public void Deposit(decimal amount)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(amount);
            Raise(new Deposited(amount));
        }

        public void Withdraw(decimal amount)
        {
            if (amount > Balance)
            {
                throw new InvalidOperationException($"Insufficient funds: {Balance} < {amount}.");
            }

            if (amount > 0)
            {
                Raise(new Withdrawn(amount));
            }
        }

        public void Note(string text) => Raise(new Noted(text));

        private void Apply(WalletOpened e) => Id = e.Id;

        private void Apply(Deposited e) => Balance += e.Amount;

        private void Apply(Withdrawn e) => Balance -= e.Amount;

        private void Apply(Noted e)
        {
        }
    }
}
