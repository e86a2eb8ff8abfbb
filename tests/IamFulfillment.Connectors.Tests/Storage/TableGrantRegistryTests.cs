using Azure.Data.Tables;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;

namespace IamFulfillment.Connectors.Tests.Storage;

[Collection(AzuriteCollection.Name)]
public sealed class TableGrantRegistryTests(AzuriteFixture azurite)
{
    private static readonly DateTimeOffset Now = StorageScope.Start;
    private static readonly TicketRef Ritm = new(TicketSystemKind.ServiceNow, "9d2f0c1e5a7b4c3d8e6f1a2b3c4d5e6f");

    private static GrantRecord Grant(string user, DateTimeOffset until, TicketRef? ticket = null) =>
        new(ticket ?? Ritm, "finance-reporting", "7c9e6679-7425-40de-944b-e07fc1f90ae7", user, until);

    [Fact]
    public async Task Due_ReturnsGrantsExpiredByNow_InOrderOfExpiry_UpToMax()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var grants = scope.Get<IGrantRegistry>();
        var late = Grant("user-late", Now.AddMinutes(-1));
        var early = Grant("user-early", Now.AddDays(-2));
        var exactlyNow = Grant("user-now", Now);
        var future = Grant("user-future", Now.AddTicks(1));
        foreach (var g in new[] { late, future, exactlyNow, early })
        {
            await grants.RecordAsync(g, CancellationToken.None);
        }

        var due = await grants.DueAsync(Now, 10, CancellationToken.None);
        var firstTwo = await grants.DueAsync(Now, 2, CancellationToken.None);

        Assert.Equal([early, late, exactlyNow], due);
        Assert.Equal([early, late], firstTwo);
    }

    [Fact]
    public async Task Complete_RemovesTheGrant_AndIsIdempotent()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var grants = scope.Get<IGrantRegistry>();
        var grant = Grant("user-1", Now.AddHours(-1));
        await grants.RecordAsync(grant, CancellationToken.None);

        await grants.CompleteAsync(grant, CancellationToken.None);
        await grants.CompleteAsync(grant, CancellationToken.None);

        Assert.Empty(await grants.DueAsync(Now.AddYears(1), 10, CancellationToken.None));
        Assert.Empty(scope.RawTable(t => t.Grants).Query<TableEntity>());
    }

    [Fact]
    public async Task Record_SameGrantTwice_KeepsOneRow()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var grants = scope.Get<IGrantRegistry>();
        var grant = Grant("user-1", Now.AddHours(-1));

        await grants.RecordAsync(grant, CancellationToken.None);
        await grants.RecordAsync(grant, CancellationToken.None);

        Assert.Equal([grant], await grants.DueAsync(Now, 10, CancellationToken.None));
    }

    [Fact]
    public async Task Record_SameGrantWithANewEndDate_MovesItsExpiry()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var grants = scope.Get<IGrantRegistry>();
        var original = Grant("user-1", Now.AddHours(-1));
        var extended = original with { Until = Now.AddDays(30) };
        await grants.RecordAsync(original, CancellationToken.None);

        await grants.RecordAsync(extended, CancellationToken.None);

        Assert.Empty(await grants.DueAsync(Now, 10, CancellationToken.None));
        Assert.Equal([extended], await grants.DueAsync(Now.AddDays(31), 10, CancellationToken.None));

        // Completing the superseded expiry leaves the current one alone.
        await grants.CompleteAsync(original, CancellationToken.None);
        Assert.Equal([extended], await grants.DueAsync(Now.AddDays(31), 10, CancellationToken.None));
    }

    [Fact]
    public async Task Postpone_MakesTheGrantDueAtTheRetry_BehindTheOthers_AndCompleteStillEndsIt()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var grants = scope.Get<IGrantRegistry>();
        var failing = Grant("user-failing", Now.AddDays(-2));
        var next = Grant("user-next", Now.AddHours(-1));
        await grants.RecordAsync(failing, CancellationToken.None);
        await grants.RecordAsync(next, CancellationToken.None);

        await grants.PostponeAsync(failing, Now.AddMinutes(15), CancellationToken.None);

        Assert.Equal([next], await grants.DueAsync(Now, 1, CancellationToken.None));
        var postponed = failing with { Attempts = 1, RetryAt = Now.AddMinutes(15) };
        Assert.Equal([next, postponed], await grants.DueAsync(Now.AddMinutes(15), 10, CancellationToken.None));

        // Read back, it is postponed again from where it is; the end date stays what was granted.
        await grants.PostponeAsync(postponed, Now.AddMinutes(45), CancellationToken.None);
        var again = Assert.Single(await grants.DueAsync(Now.AddHours(1), 10, CancellationToken.None), g => g.UserId == "user-failing");
        Assert.Equal((2, Now.AddMinutes(45), failing.Until), (again.Attempts, again.RetryAt, again.Until));

        await grants.CompleteAsync(again, CancellationToken.None);
        await grants.CompleteAsync(next, CancellationToken.None);
        Assert.Empty(scope.RawTable(t => t.Grants).Query<TableEntity>());
    }

    [Fact]
    public async Task Postpone_OfAGrantRecordedAgainMeanwhile_LeavesTheNewRecordAsItIs()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var grants = scope.Get<IGrantRegistry>();
        var original = Grant("user-1", Now.AddHours(-1));
        var extended = original with { Until = Now.AddDays(30) };
        await grants.RecordAsync(original, CancellationToken.None);
        await grants.RecordAsync(extended, CancellationToken.None);

        await grants.PostponeAsync(original, Now.AddMinutes(15), CancellationToken.None);

        Assert.Empty(await grants.DueAsync(Now.AddDays(1), 10, CancellationToken.None));
        Assert.Equal([extended], await grants.DueAsync(Now.AddDays(31), 10, CancellationToken.None));
    }

    [Fact]
    public async Task Record_OfAPostponedGrantWithTheSameEndDate_MakesItDueAtItsEndAgain_InOneRow()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var grants = scope.Get<IGrantRegistry>();
        var grant = Grant("user-1", Now.AddHours(-1));
        await grants.RecordAsync(grant, CancellationToken.None);
        await grants.PostponeAsync(grant, Now.AddMinutes(15), CancellationToken.None);

        await grants.RecordAsync(grant, CancellationToken.None);

        Assert.Equal([grant], await grants.DueAsync(Now.AddDays(1), 10, CancellationToken.None));
    }

    [Fact]
    public async Task Record_IdsWithCharactersKeysForbid_RoundTrip()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var grants = scope.Get<IGrantRegistry>();
        var grant = new GrantRecord(new TicketRef(TicketSystemKind.Jira, "HR-12"), "ent/with#odd?chars", "group|with|pipes", "user/\\#?", Now.AddTicks(-12345));

        await grants.RecordAsync(grant, CancellationToken.None);
        var due = await grants.DueAsync(Now, 10, CancellationToken.None);
        await grants.CompleteAsync(grant, CancellationToken.None);

        Assert.Equal([grant], due);
        Assert.Empty(await grants.DueAsync(Now, 10, CancellationToken.None));
    }
}
