using EventSourcing.EFCore.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Metadata;

namespace EventSourcing.EFCore.Projections.Internal;

/// <summary>
/// What the change tracker held before inline projection handlers ran: each entry's state, scalar values and modified
/// flags. <see cref="Restore"/> undoes the handlers' changes after a failed save, so that a retry applies each event once:
/// entities they began tracking are detached, and scalar values and states of the others are put back. Event rows are
/// left to <c>AppendWriter</c>. Changes made only through navigations (a collection's contents) are not recorded.
/// The values the handlers left are recorded too (<see cref="RecordApplied"/>): a value changed again since (by the user,
/// between a failed save and the next one, which is when an EF concurrency failure is settled) is not overwritten.
/// </summary>
internal sealed class ChangeTrackerSnapshot
{
    private readonly DbContext _context;
    private readonly List<EntrySnapshot> _entries;
    private readonly HashSet<object> _known;

    private ChangeTrackerSnapshot(DbContext context, List<EntrySnapshot> entries)
    {
        _context = context;
        _entries = entries;
        _known = new HashSet<object>(entries.Select(e => e.Entry.Entity), ReferenceEqualityComparer.Instance);
    }

    public static ChangeTrackerSnapshot Take(DbContext context)
    {
        var entries = new List<EntrySnapshot>();
        WithoutDetectChanges(context, () =>
        {
            foreach (var entry in context.ChangeTracker.Entries())
            {
                if (entry.Entity is not (StoredEvent or StoredSnapshot))
                {
                    entries.Add(EntrySnapshot.Take(entry));
                }
            }
        });
        return new ChangeTrackerSnapshot(context, entries);
    }

    /// <summary>Records the values the handlers left, once they all ran.</summary>
    public void RecordApplied()
    {
        foreach (var entry in _entries)
        {
            entry.RecordApplied();
        }
    }

    public void Restore() => WithoutDetectChanges(_context, () =>
    {
        var added = _context.ChangeTracker.Entries().Where(e => e.Entity is not (StoredEvent or StoredSnapshot) && !_known.Contains(e.Entity)).ToList();
        foreach (var entry in added)
        {
            entry.State = EntityState.Detached;
        }

        foreach (var entry in _entries)
        {
            entry.Restore();
        }
    });

    private static void WithoutDetectChanges(DbContext context, Action action)
    {
        var tracker = context.ChangeTracker;
        var detect = tracker.AutoDetectChangesEnabled;
        tracker.AutoDetectChangesEnabled = false;
        try
        {
            action();
        }
        finally
        {
            tracker.AutoDetectChangesEnabled = detect;
        }
    }

    private sealed record EntrySnapshot(EntityEntry Entry, EntityState State, PropertyValues Values, bool[] Modified, bool[] Temporary)
    {
        private PropertyValues? _applied;

        public void RecordApplied()
        {
            if (Entry.State != EntityState.Detached)
            {
                _applied = Entry.CurrentValues.Clone();
            }
        }

        public static EntrySnapshot Take(EntityEntry entry)
        {
            var values = entry.CurrentValues.Clone();
            var properties = values.Properties;
            var modified = new bool[properties.Count];
            var temporary = new bool[properties.Count];
            for (var i = 0; i < properties.Count; i++)
            {
                var property = entry.Property(properties[i]);
                modified[i] = property.IsModified;
                temporary[i] = property.IsTemporary;
            }

            return new EntrySnapshot(entry, entry.State, values, modified, temporary);
        }

        public void Restore()
        {
            if (Entry.State == EntityState.Detached)
            {
                return; // detached since (by the user, or by EF): nothing to put back
            }

            var properties = Values.Properties;
            for (var i = 0; i < properties.Count; i++)
            {
                if (Skip(properties[i], i))
                {
                    continue;
                }

                var property = Entry.Property(properties[i]);
                var value = Values[properties[i]];
                if (_applied is not null && !Equals(property.CurrentValue, _applied[properties[i]]))
                {
                    continue; // changed again after the handlers ran: not theirs to undo
                }

                if (!property.IsTemporary && !Equals(property.CurrentValue, value))
                {
                    property.CurrentValue = value;
                }
            }

            if (Entry.State != State)
            {
                Entry.State = State;
            }

            if (State == EntityState.Modified)
            {
                for (var i = 0; i < properties.Count; i++)
                {
                    if (!Skip(properties[i], i))
                    {
                        Entry.Property(properties[i]).IsModified = Modified[i];
                    }
                }
            }
        }

        // Keys and temporary values (store-generated keys, and foreign keys pointing at them) belong to EF.
        private bool Skip(IProperty property, int index) => property.IsKey() || Temporary[index];
    }
}
