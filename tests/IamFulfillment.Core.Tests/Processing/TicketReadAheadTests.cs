using IamFulfillment.Core.Fulfilment;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;

namespace IamFulfillment.Core.Tests.Processing;

/// <summary>
/// A read started ahead reports to the directory prefetch, which looks at the ticket's state row first: a version that
/// was decided already starts no directory read. The read is sent before the row is read, and may be complete first.
/// </summary>
public sealed class TicketReadAheadTests
{
    private static readonly TicketSnapshot Ticket = new()
    {
        Ref = new TicketRef(TicketSystemKind.Jira, "IAM-7"),
        Number = "IAM-7",
        Status = TicketStatus.Open,
        RawState = "Waiting for customer",
        OpenedBy = new ItsmPerson("acc-lynn", "Lynn Conway", "lynn@contoso.example"),
        People = new Dictionary<string, ItsmPerson> { [RequestFields.RequestedFor] = new("acc-ada", "Ada Lovelace", "ada@contoso.example") },
        Fields = new Dictionary<string, string?> { [RequestFields.RequestType] = "MfaReset" },
    };

    [Fact]
    public async Task ReadCompleteBeforeTheStateRowIsEvenAskedFor_OfAVersionDecidedAlready_StartsNoDirectoryRead()
    {
        var directory = new CountingDirectory();
        var decided = new TicketState { Ticket = Ticket.Ref, Phase = RoundPhase.Completed, Round = new TicketState { Ticket = Ticket.Ref }.RoundOf(Ticket).Round };

        using var ahead = ReadAheadCompleteAtOnce(directory, decided);

        // The prefetch decides once the row is in, on another thread: given time to (the next test shows how soon), it starts nothing.
        await Task.Delay(300);
        Assert.Equal(0, directory.Calls);
    }

    [Fact]
    public async Task ReadCompleteBeforeTheStateRowIsEvenAskedFor_OfANewVersion_StartsTheLookups()
    {
        var directory = new CountingDirectory();

        using var ahead = ReadAheadCompleteAtOnce(directory, observed: null);

        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (directory.Calls == 0 && waited.Elapsed < TimeSpan.FromSeconds(10))
        {
            await Task.Delay(10);
        }

        Assert.True(directory.Calls > 0);
    }

    /// <summary>A read ahead whose ticket read finishes inside the call that starts it, before the state row (<paramref name="observed"/>) is asked for.</summary>
    private static TicketReadAhead ReadAheadCompleteAtOnce(IDirectory directory, TicketState? observed) =>
        new(new WorkItem { System = TicketSystemKind.Jira, TicketKey = "IAM-7", DeliveryId = "d-1" },
            ct => new DirectoryLookups(directory, [PersonKey.Email], ct),
            (lookups, observation, _) =>
            {
                lookups.Prefetch(observation).Completed(Ticket);
                return Task.FromResult(Ticket);
            },
            _ => Task.FromResult(observed));

    /// <summary>Counts every directory call; finds no one.</summary>
    private sealed class CountingDirectory : IDirectory
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task<IReadOnlyList<DirectoryUser>> FindUsersAsync(PersonKey key, string value, CancellationToken cancellationToken) =>
            Count<IReadOnlyList<DirectoryUser>>([]);

        public Task<IReadOnlyList<Membership>> GetMembershipsAsync(string userId, MembershipScope scope, CancellationToken cancellationToken) =>
            Count<IReadOnlyList<Membership>>([]);

        public Task<DirectoryGroup?> GetGroupAsync(string groupId, CancellationToken cancellationToken) => Count<DirectoryGroup?>(null);

        public Task<IReadOnlyList<AuthenticationMethod>> GetAuthenticationMethodsAsync(string userId, CancellationToken cancellationToken) =>
            Count<IReadOnlyList<AuthenticationMethod>>([]);

        public Task<ChangeResult> ApplyAsync(DirectoryOperation operation, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("A prefetch never changes the directory.");

        private Task<T> Count<T>(T result)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult(result);
        }
    }
}
