using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;

namespace IamFulfillment.Connectors.Tests.Storage;

[Collection(AzuriteCollection.Name)]
public sealed class TablePersonLedgerTests(AzuriteFixture azurite)
{
    private const string Person = "0d6a1d3e-5b0c-4e1a-9b43-0f3f2d7c8a11";

    [Fact]
    public async Task Lock_HeldByAnother_IsRefusedUntilReleased()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IPersonLedger>();

        var first = await ledger.TryLockAsync(Person, "worker-a", TimeSpan.FromMinutes(1), CancellationToken.None);
        var second = await ledger.TryLockAsync(Person, "worker-b", TimeSpan.FromMinutes(1), CancellationToken.None);
        await ledger.ReleaseAsync(first!, CancellationToken.None);
        var third = await ledger.TryLockAsync(Person, "worker-b", TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.NotNull(first);
        Assert.Null(second);
        Assert.NotNull(third);
    }

    [Fact]
    public async Task Record_ReleasingTheLock_RecordsTheGroupsAndFreesThePerson_InOneWrite()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var requests = new RequestMethods();
        var ledger = new TablePersonLedger(scope.CountedTable(t => t.Persons, requests), scope.Time);
        var held = await ledger.TryLockAsync(Person, "worker-a", TimeSpan.FromMinutes(1), CancellationToken.None);
        var before = requests.Sent.Count;

        await ledger.RecordAsync(Person, ["g1"], [], CancellationToken.None, releasing: held);

        Assert.Equal(["PUT"], requests.Sent.Skip(before));
        var next = await scope.Get<IPersonLedger>().TryLockAsync(Person, "worker-b", TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Equal(["g1"], next!.Granted);
    }

    [Fact]
    public async Task Lock_ConcurrentWorkers_OnlyOneGetsIt()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IPersonLedger>();

        var locks = await Task.WhenAll(Enumerable.Range(0, 8).Select(i =>
            Task.Run(() => ledger.TryLockAsync(Person, $"worker-{i}", TimeSpan.FromMinutes(1), CancellationToken.None))));

        Assert.Single(locks, l => l is not null);
    }

    [Fact]
    public async Task Lock_CarriesTheGroupsGrantedWhenItWasTaken()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IPersonLedger>();
        await ledger.RecordAsync(Person, ["g1", "g2"], [], CancellationToken.None);

        var taken = await ledger.TryLockAsync(Person, "worker-a", TimeSpan.FromMinutes(1), CancellationToken.None);
        var fresh = await ledger.TryLockAsync("never-granted", "worker-a", TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.Equal(["g1", "g2"], taken!.Granted.Order());
        Assert.Empty(fresh!.Granted);
    }

    [Fact]
    public async Task Lock_PersonNeverSeenBefore_IsTakenByCreatingTheRow_WithOneReadAlongside()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var requests = new RequestMethods();
        var ledger = new TablePersonLedger(scope.CountedTable(t => t.Persons, requests), scope.Time);

        var taken = await ledger.TryLockAsync(Person, "worker-a", TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.Empty(taken!.Granted);
        Assert.Equal(["GET", "POST"], requests.Sent.Order());
    }

    [Fact]
    public async Task Lock_PersonNeverSeenBefore_WhoseCreationsAnswerWasLost_IsRecognisedAsItsOwnLock()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var lost = new LostAnswer(r => r.Method == Azure.Core.RequestMethod.Post);
        var ledger = new TablePersonLedger(scope.RetriedTable(t => t.Persons, lost), scope.Time);

        var taken = await ledger.TryLockAsync(Person, "worker-a", TimeSpan.FromMinutes(1), CancellationToken.None);
        var other = await scope.Get<IPersonLedger>().TryLockAsync(Person, "worker-b", TimeSpan.FromMinutes(1), CancellationToken.None);

        // The creation landed, the client's retry met it (409), and the read showed worker-a's own lock: taken, not
        // refused until it expires.
        Assert.True(lost.Lost);
        Assert.NotNull(taken);
        Assert.Null(other);
        await ledger.ReleaseAsync(taken!, CancellationToken.None);
        Assert.NotNull(await scope.Get<IPersonLedger>().TryLockAsync(Person, "worker-b", TimeSpan.FromMinutes(1), CancellationToken.None));
    }

    [Fact]
    public async Task LockRecordRelease_AfterItsOwnWrites_WriteConditionallyWithoutReadingFirst()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var requests = new RequestMethods();
        var ledger = new TablePersonLedger(scope.CountedTable(t => t.Persons, requests), scope.Time);
        await ledger.RecordAsync(Person, ["g1"], [], CancellationToken.None);
        requests.Clear();

        var taken = await ledger.TryLockAsync(Person, "worker-a", TimeSpan.FromMinutes(1), CancellationToken.None);
        await ledger.RecordAsync(Person, ["g2"], [], CancellationToken.None);
        await ledger.ReleaseAsync(taken!, CancellationToken.None);

        Assert.Equal(["g1"], taken!.Granted);
        Assert.Equal(["PUT", "PUT", "PUT"], requests.Sent);
        Assert.Equal(["g1", "g2"], (await scope.Get<IPersonLedger>().GrantedAsync(Person, CancellationToken.None)).Order());
    }

    [Fact]
    public async Task Lock_TakenByAnotherProcessSinceItsOwnRelease_IsRefused()
    {
        // What this process remembers (released) is stale: the write conditional on it fails and the row is read.
        await using var scope = await StorageScope.CreateAsync(azurite);
        var here = scope.Get<IPersonLedger>();
        var there = new TablePersonLedger(scope.RawTable(t => t.Persons), scope.Time);
        await here.ReleaseAsync((await here.TryLockAsync(Person, "worker-a", TimeSpan.FromMinutes(1), CancellationToken.None))!, CancellationToken.None);
        Assert.NotNull(await there.TryLockAsync(Person, "worker-b", TimeSpan.FromMinutes(1), CancellationToken.None));

        Assert.Null(await here.TryLockAsync(Person, "worker-c", TimeSpan.FromMinutes(1), CancellationToken.None));
    }

    [Fact]
    public async Task Lock_RememberedAsHeldByAnother_IsDecidedAgainOnTheStoredRow()
    {
        // Refused while another process held it; that process has released it since, so the next try gets it.
        await using var scope = await StorageScope.CreateAsync(azurite);
        var here = scope.Get<IPersonLedger>();
        var there = new TablePersonLedger(scope.RawTable(t => t.Persons), scope.Time);
        var theirs = await there.TryLockAsync(Person, "worker-b", TimeSpan.FromMinutes(1), CancellationToken.None);
        Assert.Null(await here.TryLockAsync(Person, "worker-a", TimeSpan.FromMinutes(1), CancellationToken.None));
        await there.ReleaseAsync(theirs!, CancellationToken.None);

        Assert.NotNull(await here.TryLockAsync(Person, "worker-a", TimeSpan.FromMinutes(1), CancellationToken.None));
    }

    [Fact]
    public async Task RowDeletedSinceItWasRemembered_IsLockedAndRecordedAgain()
    {
        // An operator deleted the row this process remembers: the conditional writes meet 404 and start afresh.
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IPersonLedger>();
        await ledger.RecordAsync(Person, ["g1"], [], CancellationToken.None);
        await scope.RawTable(t => t.Persons).DeleteEntityAsync(Person, "person");

        var taken = await ledger.TryLockAsync(Person, "worker-a", TimeSpan.FromMinutes(1), CancellationToken.None);
        await scope.RawTable(t => t.Persons).DeleteEntityAsync(Person, "person");
        await ledger.RecordAsync(Person, ["g2"], [], CancellationToken.None);
        await ledger.ReleaseAsync(taken!, CancellationToken.None);

        Assert.Empty(taken!.Granted);
        Assert.Equal(["g2"], await scope.Get<IPersonLedger>().GrantedAsync(Person, CancellationToken.None));
    }

    [Fact]
    public async Task Record_AddsAndRemovesGrantedGroups()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IPersonLedger>();

        await ledger.RecordAsync(Person, ["g1", "g2"], [], CancellationToken.None);
        await ledger.RecordAsync(Person, ["g3"], ["g1"], CancellationToken.None);

        Assert.Equal(["g2", "g3"], (await ledger.GrantedAsync(Person, CancellationToken.None)).Order());
        Assert.Empty(await ledger.GrantedAsync("someone-else", CancellationToken.None));
    }

    [Fact]
    public async Task Record_OnlyRemovalsForSomeoneNeverGrantedAnything_WritesNoRow()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var ledger = scope.Get<IPersonLedger>();

        await ledger.RecordAsync(Person, [], ["g1", "g2"], CancellationToken.None);

        Assert.Empty(await ledger.GrantedAsync(Person, CancellationToken.None));
        Assert.Empty(scope.RawTable(t => t.Persons).Query<Azure.Data.Tables.TableEntity>().ToList());
    }
}

[Collection(AzuriteCollection.Name)]
public sealed class TableGrantRegistryActiveTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Active_ListsEveryTicketsGrantOfTheSameGroupAndUser()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var grants = scope.Get<IGrantRegistry>();
        var a = new GrantRecord(new TicketRef(TicketSystemKind.ServiceNow, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "finance", "group-1", "user-1", StorageScope.Start.AddDays(10));
        var b = new GrantRecord(new TicketRef(TicketSystemKind.Jira, "HR-7"), "finance", "group-1", "user-1", StorageScope.Start.AddDays(90));
        var other = new GrantRecord(new TicketRef(TicketSystemKind.Jira, "HR-8"), "finance", "group-1", "user-2", StorageScope.Start.AddDays(90));
        foreach (var g in new[] { a, b, other })
        {
            await grants.RecordAsync(g, CancellationToken.None);
        }

        await grants.CompleteAsync(a, CancellationToken.None);

        Assert.Equal([b], await grants.ActiveAsync("group-1", "user-1", CancellationToken.None));
    }
}

[Collection(AzuriteCollection.Name)]
public sealed class TableTicketStoreGetTests(AzuriteFixture azurite)
{
    [Fact]
    public async Task Get_ReadsStateWithoutTakingTheLease()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var store = scope.Get<ITicketStore>();
        var ticket = new TicketRef(TicketSystemKind.Jira, "HR-41");

        Assert.Null(await store.GetAsync(ticket, CancellationToken.None));
        var held = await store.TryAcquireAsync(ticket, "worker-a", TimeSpan.FromMinutes(1), CancellationToken.None);
        var read = await store.GetAsync(ticket, CancellationToken.None);
        var other = await store.TryAcquireAsync(ticket, "worker-b", TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.Equal("worker-a", read!.LeaseOwner);
        Assert.Equal(held.State!.ETag, read.ETag);
        Assert.False(other.Acquired);
    }
}
