using System.Collections.Concurrent;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;

namespace IamFulfillment.Core.Processing;

/// <summary>
/// The directory reads of one processing run, each made once: lookups started early (while the ticket read is
/// still under way) are picked up, not repeated, when the decision context is built.
/// </summary>
public sealed class DirectoryLookups(IDirectory directory, IReadOnlyList<PersonKey> keys, CancellationToken cancellationToken)
{
    private readonly ConcurrentDictionary<(PersonKey, string), Lazy<Task<IReadOnlyList<DirectoryUser>>>> _finds = new();
    private readonly ConcurrentDictionary<(string, MembershipScope), Lazy<Task<IReadOnlyList<Membership>>>> _memberships = new();

    public IReadOnlyList<PersonKey> Keys { get; } = keys;

    public Task<IReadOnlyList<DirectoryUser>> FindAsync(PersonKey key, string value) =>
        _finds.GetOrAdd((key, value), k => new Lazy<Task<IReadOnlyList<DirectoryUser>>>(() => directory.FindUsersAsync(k.Item1, k.Item2, cancellationToken))).Value;

    public Task<IReadOnlyList<Membership>> MembershipsAsync(string userId, MembershipScope scope) =>
        _memberships.GetOrAdd((userId, scope), k => new Lazy<Task<IReadOnlyList<Membership>>>(() => directory.GetMembershipsAsync(k.Item1, k.Item2, cancellationToken))).Value;

    /// <summary>The first configured key this person has a value for.</summary>
    public (PersonKey Key, string Value)? KeyOf(ItsmPerson person)
    {
        foreach (var key in Keys)
        {
            var value = key switch
            {
                PersonKey.Email => person.Email,
                PersonKey.EmployeeId => person.EmployeeNumber,
                PersonKey.AtlassianAccountId => person.ItsmId,
                _ => null,
            };
            if (!string.IsNullOrWhiteSpace(value))
            {
                return (key, value);
            }
        }

        return null;
    }

    /// <summary>A read progress that starts the person lookups, and the target's memberships, as soon as the ticket names them.</summary>
    /// <param name="observed">
    /// The ticket's state row as the run will see it, if being read alongside (looked at when the read is complete, so
    /// the read need not wait for that one to be sent): a complete read of a ticket whose
    /// current version was decided already (a comment on an open ticket) starts nothing more, as the run will skip it.
    /// </param>
    public ReadProgress Prefetch(Func<Task<TicketState?>?>? observed = null) => new PrefetchProgress(this, observed);

    private sealed class PrefetchProgress(DirectoryLookups lookups, Func<Task<TicketState?>?>? observed) : ReadProgress
    {
        public override void PeopleKnown(ItsmPerson? requestedFor, ItsmPerson? openedBy, IReadOnlyCollection<ItsmPerson> others)
        {
            foreach (var person in others.Append(openedBy).OfType<ItsmPerson>())
            {
                if (lookups.KeyOf(person) is { } k)
                {
                    Observe(lookups.FindAsync(k.Key, k.Value));
                }
            }

            if (requestedFor is not null && lookups.KeyOf(requestedFor) is { } target)
            {
                Observe(PrefetchMembershipsAsync(target.Key, target.Value, MembershipScope.Transitive));
            }
        }

        public override void FieldsKnown(IReadOnlyDictionary<string, string?> fields)
        {
            // ContextBuilder matches a leaver by employee number as well: look that up alongside the other people, or
            // it would wait for the whole ticket read and cost a round trip of its own.
            if (RequestTypes.TryParse(fields.GetValueOrDefault(RequestFields.RequestType), out var type) && type == RequestType.Leaver
                && fields.GetValueOrDefault(RequestFields.EmployeeNumber)?.Trim() is { Length: > 0 } number)
            {
                Observe(lookups.FindAsync(PersonKey.EmployeeId, number));
            }
        }

        /// <summary>
        /// The rest of what <see cref="ContextBuilder"/> will read, by request type: the requester's memberships for
        /// joiner, mover and leaver; the verifier's for an MFA reset; the target's direct ones for mover and leaver (a
        /// leaver's target is the account with the ticket's employee number, where it has one).
        /// </summary>
        public override void Completed(TicketSnapshot snapshot)
        {
            if (snapshot.Status == TicketStatus.Closed)
            {
                return; // skipped by the run: nothing to look up
            }

            // The state row's read usually ends first; when it has not, the prefetch waits for it (the lease does too).
            var observation = observed?.Invoke();
            if (observation is { IsCompleted: false })
            {
                Observe(PrefetchAfterAsync(snapshot, observation));
            }
            else
            {
                PrefetchUnlessDecided(snapshot, observation);
            }
        }

        private async Task PrefetchAfterAsync(TicketSnapshot snapshot, Task<TicketState?> observation)
        {
            await ((Task)observation).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // a failed read is the run's to meet
            PrefetchUnlessDecided(snapshot, observation);
        }

        private void PrefetchUnlessDecided(TicketSnapshot snapshot, Task<TicketState?>? observation)
        {
            try
            {
                if (observation is { IsCompletedSuccessfully: true, Result: { } state } && state.Decided(snapshot))
                {
                    return; // decided already: the run skips it
                }

                PrefetchRest(snapshot);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Best effort: whatever was not started here is read by the run itself.
            }
        }

        private void PrefetchRest(TicketSnapshot snapshot)
        {
            var requestedFor = snapshot.People.GetValueOrDefault(RequestFields.RequestedFor);
            PeopleKnown(requestedFor, snapshot.OpenedBy, [.. snapshot.Approvals.Where(a => a.State == ApprovalState.Approved)
                .SelectMany(a => a.ActedBy is null ? [a.Approver] : new[] { a.Approver, a.ActedBy })]);
            FieldsKnown(snapshot.Fields);
            if (!RequestTypes.TryParse(snapshot.Fields.GetValueOrDefault(RequestFields.RequestType), out var type))
            {
                return;
            }

            var number = type == RequestType.Leaver ? snapshot.Fields.GetValueOrDefault(RequestFields.EmployeeNumber)?.Trim() : null;
            if (!string.IsNullOrEmpty(number))
            {
                Observe(PrefetchMembershipsAsync(PersonKey.EmployeeId, number, MembershipScope.Direct));
                Observe(PrefetchMembershipsAsync(PersonKey.EmployeeId, number, MembershipScope.Transitive));
            }
            else if (type is RequestType.Leaver or RequestType.Mover && requestedFor is not null)
            {
                Observe(PrefetchMembershipsAsync(requestedFor, MembershipScope.Direct));
            }

            var other = type switch
            {
                RequestType.Leaver or RequestType.Joiner or RequestType.Mover => snapshot.OpenedBy,
                RequestType.MfaReset => snapshot.People.GetValueOrDefault(RequestFields.VerifiedBy),
                _ => null,
            };
            if (other is not null)
            {
                Observe(PrefetchMembershipsAsync(other, MembershipScope.Transitive));
            }
        }

        private Task PrefetchMembershipsAsync(ItsmPerson person, MembershipScope scope) =>
            lookups.KeyOf(person) is { } k ? PrefetchMembershipsAsync(k.Key, k.Value, scope) : Task.CompletedTask;

        private async Task PrefetchMembershipsAsync(PersonKey key, string value, MembershipScope scope)
        {
            var users = await lookups.FindAsync(key, value);
            if (users.Count == 1)
            {
                await lookups.MembershipsAsync(users[0].Id, scope);
            }
        }

        /// <summary>Prefetches are best effort: a failure surfaces when the result is awaited for the decision.</summary>
        private static void Observe(Task task) => task.ObserveFailure();
    }
}
