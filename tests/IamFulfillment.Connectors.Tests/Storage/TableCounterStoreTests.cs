using System.Collections.Concurrent;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Data.Tables;
using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Ports;
using Microsoft.Extensions.Logging.Abstractions;

namespace IamFulfillment.Connectors.Tests.Storage;

[Collection(AzuriteCollection.Name)]
public sealed class TableCounterStoreTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Window = TimeSpan.FromDays(30);
    private static readonly DateTimeOffset Now = StorageScope.Start;

    [Fact]
    public async Task TryRecord_UnderTheLimit_RecordsAndReportsTheCountBefore()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var counters = scope.Get<ICounterStore>();

        var first = await counters.TryRecordAsync("mfa-reset:user-1", "RITM001", 1, 3, Window, Now, CancellationToken.None);
        var second = await counters.TryRecordAsync("mfa-reset:user-1", "RITM002", 1, 3, Window, Now.AddDays(1), CancellationToken.None);

        Assert.Equal(new CounterResult(true, 0), first);
        Assert.Equal(new CounterResult(true, 1), second);
    }

    [Fact]
    public async Task TryRecord_AtTheLimit_RefusesAndRecordsNothing()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var counters = scope.Get<ICounterStore>();
        for (var i = 0; i < 3; i++)
        {
            await counters.TryRecordAsync("brake:disable", $"op-{i}", 1, 3, Window, Now, CancellationToken.None);
        }

        var refused = await counters.TryRecordAsync("brake:disable", "op-3", 1, 3, Window, Now, CancellationToken.None);
        var again = await counters.TryRecordAsync("brake:disable", "op-4", 1, 3, Window, Now, CancellationToken.None);

        Assert.Equal(new CounterResult(false, 3), refused);
        Assert.Equal(new CounterResult(false, 3), again);
    }

    [Fact]
    public async Task TryRecord_SameOccurrenceIdTwice_IsIdempotentEvenAtTheLimit()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var counters = scope.Get<ICounterStore>();
        await counters.TryRecordAsync("k", "op-1", 1, 2, Window, Now, CancellationToken.None);
        await counters.TryRecordAsync("k", "op-2", 1, 2, Window, Now, CancellationToken.None);

        var repeat = await counters.TryRecordAsync("k", "op-1", 1, 2, Window, Now.AddMinutes(5), CancellationToken.None);

        Assert.Equal(new CounterResult(true, 2), repeat);
        Assert.False((await counters.TryRecordAsync("k", "op-3", 1, 2, Window, Now, CancellationToken.None)).Recorded);
    }

    [Fact]
    public async Task TryRecord_OccurrencesOlderThanTheWindow_AreNoLongerCounted()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var counters = scope.Get<ICounterStore>();
        await counters.TryRecordAsync("k", "old-1", 1, 2, Window, Now, CancellationToken.None);
        await counters.TryRecordAsync("k", "old-2", 1, 2, Window, Now.AddDays(1), CancellationToken.None);

        var afterFirstLeft = await counters.TryRecordAsync("k", "new-1", 1, 2, Window, Now.AddDays(30).AddSeconds(1), CancellationToken.None);
        var stillFull = await counters.TryRecordAsync("k", "new-2", 1, 2, Window, Now.AddDays(30).AddSeconds(2), CancellationToken.None);

        Assert.Equal(new CounterResult(true, 1), afterFirstLeft);
        Assert.Equal(new CounterResult(false, 2), stillFull);
    }

    [Fact]
    public async Task TryRecord_TenConcurrentCallersWithLimitThree_RecordsExactlyThree()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var counters = scope.Get<ICounterStore>();

        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(i =>
            Task.Run(() => counters.TryRecordAsync("brake:remove", $"op-{i}", 1, 3, Window, Now, CancellationToken.None))));

        Assert.Equal(3, results.Count(r => r.Recorded));
        Assert.Equal([0, 1, 2], results.Where(r => r.Recorded).Select(r => r.CountInWindow).Order());
        Assert.All(results.Where(r => !r.Recorded), r => Assert.Equal(3, r.CountInWindow));
    }

    [Fact]
    public async Task TryRecord_ConcurrentCallersInTwoProcesses_StillNeverOvershootTheLimit()
    {
        // Callers in one process share a write; a second process (its own store on the same table) is fenced by the ETag.
        await using var scope = await StorageScope.CreateAsync(azurite);
        var here = scope.Get<ICounterStore>();
        var there = new TableCounterStore(scope.RawTable(t => t.Counters), NullLogger<TableCounterStore>.Instance);

        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            Task.Run(() => (i % 2 == 0 ? here : there).TryRecordAsync("brake:disable", $"op-{i}", 1, 25, Window, Now, CancellationToken.None))));

        Assert.Equal(25, results.Count(r => r.Recorded));
        Assert.Equal(Enumerable.Range(0, 25), results.Where(r => r.Recorded).Select(r => r.CountInWindow).Order());
        Assert.Equal(new CounterResult(false, 25), await there.TryRecordAsync("brake:disable", "op-late", 1, 25, Window, Now, CancellationToken.None));
    }

    [Fact]
    public async Task TryRecord_AfterItsOwnWrite_WritesConditionallyWithoutReadingTheRowFirst()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var requests = new RequestMethods();
        var counters = new TableCounterStore(scope.CountedTable(t => t.Counters, requests), NullLogger<TableCounterStore>.Instance);
        await counters.TryRecordAsync("brake:removal", "op-1", 1, 10, Window, Now, CancellationToken.None);
        requests.Clear();

        var second = await counters.TryRecordAsync("brake:removal", "op-2", 1, 10, Window, Now, CancellationToken.None);

        Assert.Equal(new CounterResult(true, 1), second);
        Assert.Equal(["PUT"], requests.Sent);
    }

    [Fact]
    public async Task TryRecord_OnACounterNoOneHasWritten_CreatesItInOneWrite_WithTheReadAlongside()
    {
        // A person's first MFA reset: the row is created as new while it is read in case it exists (the read is held
        // until a write is sent, so a write that waited for the read would show).
        await using var scope = await StorageScope.CreateAsync(azurite);
        var reads = new ReadsHeldUntilAWrite();
        var counters = new TableCounterStore(scope.CountedTable(t => t.Counters, reads), NullLogger<TableCounterStore>.Instance);

        var first = await counters.TryRecordAsync("mfa-resets:ada", "op-1", 1, 3, Window, Now, CancellationToken.None);
        var second = await counters.TryRecordAsync("mfa-resets:ada", "op-2", 1, 3, Window, Now, CancellationToken.None);

        Assert.Equal(new CounterResult(true, 0), first);
        Assert.Equal(new CounterResult(true, 1), second);
        Assert.True(reads.WriteSentWhileAReadWasUnanswered);
        Assert.Equal(["GET", "POST", "PUT"], reads.Sent);
        var row = Assert.Single(scope.RawTable(t => t.Counters).Query<TableEntity>());
        Assert.Equal(2, row.GetInt32("Count"));
    }

    [Fact]
    public async Task TryRecord_OnACounterAnotherProcessCreated_CountsWhatItHolds_AndStillNeverOvershoots()
    {
        // The creation fails because the row exists: the read alongside it is what the occurrence is decided on.
        await using var scope = await StorageScope.CreateAsync(azurite);
        var there = new TableCounterStore(scope.RawTable(t => t.Counters), NullLogger<TableCounterStore>.Instance);
        await there.TryRecordAsync("mfa-resets:ada", "op-1", 1, 2, Window, Now, CancellationToken.None);
        var here = scope.Get<ICounterStore>();

        var second = await here.TryRecordAsync("mfa-resets:ada", "op-2", 1, 2, Window, Now, CancellationToken.None);
        var third = await here.TryRecordAsync("mfa-resets:ada", "op-3", 1, 2, Window, Now, CancellationToken.None);

        Assert.Equal(new CounterResult(true, 1), second);
        Assert.Equal(new CounterResult(false, 2), third);
        var row = Assert.Single(scope.RawTable(t => t.Counters).Query<TableEntity>());
        Assert.Equal(2, row.GetInt32("Count"));
    }

    [Fact]
    public async Task TryRecord_RefusedAgainOnARowItHasSeen_OnlyReadsIt_WithoutTryingToCreateItAgain()
    {
        // A brake engaged by another process: each refused ticket is decided on the stored row, and once this process
        // has seen the row it no longer sends a create that is bound to fail.
        await using var scope = await StorageScope.CreateAsync(azurite);
        var there = new TableCounterStore(scope.RawTable(t => t.Counters), NullLogger<TableCounterStore>.Instance);
        await there.TryRecordAsync("brake:disable", "op-1", 1, 1, Window, Now, CancellationToken.None);
        var requests = new RequestMethods();
        var here = new TableCounterStore(scope.CountedTable(t => t.Counters, requests), NullLogger<TableCounterStore>.Instance);
        Assert.False((await here.TryRecordAsync("brake:disable", "op-2", 1, 1, Window, Now, CancellationToken.None)).Recorded);
        requests.Clear();

        var again = await here.TryRecordAsync("brake:disable", "op-3", 1, 1, Window, Now, CancellationToken.None);

        Assert.Equal(new CounterResult(false, 1), again);
        Assert.Equal(["GET"], requests.Sent);
    }

    [Fact]
    public async Task TryRecord_AnotherProcessWroteSinceItsOwnWrite_CountsTheirOccurrencesToo()
    {
        // What this process remembers of the row is stale; the write conditional on it fails and the row is read.
        await using var scope = await StorageScope.CreateAsync(azurite);
        var here = scope.Get<ICounterStore>();
        var there = new TableCounterStore(scope.RawTable(t => t.Counters), NullLogger<TableCounterStore>.Instance);
        await here.TryRecordAsync("brake:disable", "op-1", 1, 2, Window, Now, CancellationToken.None);
        await there.TryRecordAsync("brake:disable", "op-2", 1, 2, Window, Now, CancellationToken.None);

        var refused = await here.TryRecordAsync("brake:disable", "op-3", 1, 2, Window, Now, CancellationToken.None);

        Assert.Equal(new CounterResult(false, 2), refused);
    }

    [Fact]
    public async Task TryRecord_RefusedFromWhatItRemembers_IsDecidedAgainOnTheStoredRow()
    {
        // At the limit by its own writes, then an operator clears the row: the next occurrence is recorded, not refused.
        await using var scope = await StorageScope.CreateAsync(azurite);
        var counters = scope.Get<ICounterStore>();
        await counters.TryRecordAsync("brake:removal", "op-1", 1, 1, Window, Now, CancellationToken.None);
        var table = scope.RawTable(t => t.Counters);
        var row = Assert.Single(table.Query<TableEntity>());
        await table.DeleteEntityAsync(row.PartitionKey, row.RowKey);

        var next = await counters.TryRecordAsync("brake:removal", "op-2", 1, 1, Window, Now, CancellationToken.None);

        Assert.Equal(new CounterResult(true, 0), next);
    }

    [Fact]
    public async Task TryRecord_KeysWithAnyCharacters_AreSeparateCounters()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var counters = scope.Get<ICounterStore>();

        var a = await counters.TryRecordAsync("mfa/user#1?x\\ü", "op", 1, 1, Window, Now, CancellationToken.None);
        var b = await counters.TryRecordAsync("mfa/user#2?x\\ü", "op", 1, 1, Window, Now, CancellationToken.None);
        var aAgain = await counters.TryRecordAsync("mfa/user#1?x\\ü", "op-2", 1, 1, Window, Now, CancellationToken.None);

        Assert.True(a.Recorded);
        Assert.True(b.Recorded);
        Assert.False(aAgain.Recorded);
    }

    [Fact]
    public async Task TryRecord_ManyLongOccurrenceIds_SpillOverSeveralPropertiesAndStillCount()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var counters = scope.Get<ICounterStore>();
        var prefix = new string('x', 120);

        // 3,100 occurrences of 20 bytes each: more than one 60,000-byte part holds (recorded in one batch per 100).
        for (var batch = 0; batch < 31; batch++)
        {
            var recorded = await Task.WhenAll(Enumerable.Range(batch * 100, 100)
                .Select(i => counters.TryRecordAsync("brake", $"{prefix}-{i:D4}", 1, 5000, Window, Now, CancellationToken.None)));
            Assert.All(recorded, r => Assert.True(r.Recorded));
        }

        Assert.Equal(new CounterResult(true, 3100), await counters.TryRecordAsync("brake", $"{prefix}-0007", 1, 5000, Window, Now, CancellationToken.None));
        Assert.Equal(new CounterResult(true, 3100), await counters.TryRecordAsync("brake", "new", 1, 5000, Window, Now, CancellationToken.None));
        var row = Assert.Single(scope.RawTable(t => t.Counters).Query<Azure.Data.Tables.TableEntity>());
        Assert.NotNull(row.GetBinary("Packed1"));
        Assert.Equal(3101, row.GetInt32("Count"));
    }

    [Fact]
    public async Task TryRecord_OnARowStoredAsAJsonList_CountsItsOccurrences_MatchesTheirIds_AndRewritesItPacked()
    {
        // Rows written before the packed form hold a JSON list; a long id was stored as "~" + its SHA-256.
        await using var scope = await StorageScope.CreateAsync(azurite);
        var table = scope.RawTable(t => t.Counters);
        var longId = new string('y', 200);
        var legacy = $$"""[{"id":"op-1","at":"{{Now.AddMinutes(-5):O}}"},{"id":"~{{TableKeys.Sha256Hex(longId)}}","at":"{{Now.AddMinutes(-4):O}}","weight":2}]""";
        await table.AddEntityAsync(new TableEntity(TableKeys.Sha256Hex("brake:removal"), "window") { ["Occurrences"] = legacy, ["Count"] = 3 });
        var counters = scope.Get<ICounterStore>();

        var again = await counters.TryRecordAsync("brake:removal", longId, 2, 5, Window, Now, CancellationToken.None);
        var next = await counters.TryRecordAsync("brake:removal", "op-3", 1, 5, Window, Now, CancellationToken.None);
        var over = await counters.TryRecordAsync("brake:removal", "op-4", 2, 5, Window, Now, CancellationToken.None);

        Assert.Equal(new CounterResult(true, 3), again); // recorded before: not counted twice
        Assert.Equal(new CounterResult(true, 3), next);
        Assert.Equal(new CounterResult(false, 4), over);
        var row = Assert.Single(table.Query<TableEntity>());
        // Where older versions look for their JSON list there is now something that is not JSON: they fail on the row
        // instead of reading it as empty and resetting the count.
        Assert.ThrowsAny<System.Text.Json.JsonException>(() => System.Text.Json.JsonDocument.Parse(row.GetString("Occurrences")!));
        Assert.Equal(3 * 20, row.GetBinary("Packed").Length);
        Assert.Equal(4, row.GetInt32("Count"));
    }

    /// <summary>Holds every read until the first write is sent (at most a few seconds), and notes whether one was.</summary>
    private sealed class ReadsHeldUntilAWrite : HttpPipelinePolicy
    {
        private readonly TaskCompletionSource _written = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly ConcurrentQueue<string> _sent = new();
        private int _readsUnanswered;

        public bool WriteSentWhileAReadWasUnanswered { get; private set; }

        public IReadOnlyList<string> Sent => [.. _sent];

        public override async ValueTask ProcessAsync(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline)
        {
            _sent.Enqueue(message.Request.Method.Method);
            if (message.Request.Method == RequestMethod.Get)
            {
                Interlocked.Increment(ref _readsUnanswered);
                await Task.WhenAny(_written.Task, Task.Delay(TimeSpan.FromSeconds(3)));
                await ProcessNextAsync(message, pipeline);
                Interlocked.Decrement(ref _readsUnanswered);
                return;
            }

            WriteSentWhileAReadWasUnanswered |= Volatile.Read(ref _readsUnanswered) > 0;
            _written.TrySetResult();
            await ProcessNextAsync(message, pipeline);
        }

        public override void Process(HttpMessage message, ReadOnlyMemory<HttpPipelinePolicy> pipeline) =>
            throw new NotSupportedException("The table client is used asynchronously only.");
    }
}

[Collection(AzuriteCollection.Name)]
public sealed class TableCounterStoreWeightTests(AzuriteFixture azurite)
{
    private static readonly TimeSpan Window = TimeSpan.FromHours(1);
    private static readonly DateTimeOffset Now = StorageScope.Start;

    [Fact]
    public async Task TryRecord_WeightThatWouldCrossTheLimit_IsRefusedWhole()
    {
        await using var scope = await StorageScope.CreateAsync(azurite);
        var counters = scope.Get<ICounterStore>();

        var first = await counters.TryRecordAsync("brake:Removal", "RITM1", 7, 10, Window, Now, CancellationToken.None);
        var tooMany = await counters.TryRecordAsync("brake:Removal", "RITM2", 4, 10, Window, Now, CancellationToken.None);
        var fits = await counters.TryRecordAsync("brake:Removal", "RITM3", 3, 10, Window, Now, CancellationToken.None);

        Assert.Equal(new CounterResult(true, 0), first);
        Assert.Equal(new CounterResult(false, 7), tooMany);
        Assert.Equal(new CounterResult(true, 7), fits);
    }
}
