using IamFulfillment.Connectors.Storage;
using IamFulfillment.Core.Audit;
using IamFulfillment.Core.Model;
using IamFulfillment.Core.Ports;
using IamFulfillment.Core.Processing;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.Testing;

/// <summary>
/// Passes every call to the ticket store it wraps; a test overrides what it watches or breaks, and registers it with
/// <see cref="HostUnderTest.StartAsync"/>'s <c>services</c>.
/// </summary>
public class DelegatingTicketStore(ITicketStore inner) : ITicketStore
{
    public virtual Task<LeaseAttempt> TryAcquireAsync(TicketRef ticket, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
        inner.TryAcquireAsync(ticket, owner, duration, cancellationToken);

    public virtual Task<LeaseAttempt> TryAcquireObservedAsync(TicketRef ticket, TicketState? observed, string owner, TimeSpan duration, CancellationToken cancellationToken) =>
        inner.TryAcquireObservedAsync(ticket, observed, owner, duration, cancellationToken);

    public virtual Task<TicketState> SaveAsync(TicketState state, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken) =>
        inner.SaveAsync(state, events, cancellationToken);

    public virtual Task<IReadOnlyList<AuditEvent>> ReadTrailAsync(TicketRef ticket, CancellationToken cancellationToken) =>
        inner.ReadTrailAsync(ticket, cancellationToken);

    public virtual Task<TicketState?> GetAsync(TicketRef ticket, CancellationToken cancellationToken) =>
        inner.GetAsync(ticket, cancellationToken);

    public virtual IAsyncEnumerable<AuditEvent> QueryEventsAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        inner.QueryEventsAsync(from, to, cancellationToken);
}

/// <summary>A ticket store whose first save matching a condition fails as storage would (writing nothing); the rest pass through.</summary>
public sealed class FailsOneSave(ITicketStore inner, Func<TicketState, IReadOnlyList<AuditEvent>, bool> matches) : DelegatingTicketStore(inner)
{
    private readonly TaskCompletionSource _refused = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the save was refused.</summary>
    public Task Refused => _refused.Task;

    public override async Task<TicketState> SaveAsync(TicketState state, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        if (!_refused.Task.IsCompleted && matches(state, events) && _refused.TrySetResult())
        {
            await Task.Yield();
            throw new Azure.RequestFailedException(503, "The storage service is unavailable (test).");
        }

        return await base.SaveAsync(state, events, cancellationToken);
    }
}

/// <summary>
/// A ticket store that holds the first save matching a condition until the test releases it, then stores it (or, with
/// <paramref name="thenFail"/>, fails it as storage would, writing nothing); the rest pass through.
/// </summary>
public sealed class HoldsOneSave(ITicketStore inner, Func<TicketState, bool> matches, bool thenFail = false) : DelegatingTicketStore(inner)
{
    private readonly TaskCompletionSource _asked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the save is being held.</summary>
    public Task Asked => _asked.Task;

    public void Release() => _released.TrySetResult();

    public override async Task<TicketState> SaveAsync(TicketState state, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        if (!_asked.Task.IsCompleted && matches(state) && _asked.TrySetResult())
        {
            await _released.Task.WaitAsync(cancellationToken);
            if (thenFail)
            {
                throw new Azure.RequestFailedException(503, "The storage service is unavailable (test).");
            }
        }

        return await base.SaveAsync(state, events, cancellationToken);
    }
}

/// <summary>Keeps every save of its host's ticket store (the state and the events stored with it), and tells a test of each as it is asked.</summary>
public sealed class WatchesSaves(ITicketStore inner, Action<TicketState>? asked = null) : DelegatingTicketStore(inner)
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<(TicketState State, IReadOnlyList<AuditEvent> Events)> _saved = new();

    public IReadOnlyList<(TicketState State, IReadOnlyList<AuditEvent> Events)> Saved => [.. _saved];

    public override Task<TicketState> SaveAsync(TicketState state, IReadOnlyList<AuditEvent> events, CancellationToken cancellationToken)
    {
        asked?.Invoke(state);
        _saved.Enqueue((state, events));
        return base.SaveAsync(state, events, cancellationToken);
    }
}

public static class TicketStoreWrapping
{
    /// <summary>
    /// Makes <paramref name="wrap"/>'s store (around the storage-backed one) the host's ticket store; the test finds it
    /// again as <typeparamref name="TWrapper"/> in the host's services.
    /// </summary>
    public static IServiceCollection WrapTicketStore<TWrapper>(this IServiceCollection services, Func<ITicketStore, TWrapper> wrap)
        where TWrapper : class, ITicketStore =>
        services
            .AddSingleton(sp => wrap(sp.GetRequiredService<TableTicketStore>()))
            .AddSingleton<ITicketStore>(sp => sp.GetRequiredService<TWrapper>());
}
