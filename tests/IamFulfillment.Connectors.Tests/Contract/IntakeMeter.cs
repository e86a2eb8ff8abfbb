using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using IamFulfillment.Core.Intake;
using IamFulfillment.Core.Model;

namespace IamFulfillment.Connectors.Tests.Contract;

/// <summary>
/// Listens to intake's delivery counter (meter <c>IamFulfillment.Intake</c>, <c>iamf.webhook.deliveries</c>) and keeps
/// only what this test's own calls reported: the meter is static and other tests feed it in parallel, but a
/// measurement is recorded on the caller's flow, where this listener's async-local mark is visible.
/// Create it inside the test method, before the deliveries.
/// </summary>
public sealed class IntakeMeter : IDisposable
{
    private static readonly AsyncLocal<IntakeMeter?> Owner = new();
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string? System, string? Result, long Value)> _measurements = new();

    public IntakeMeter()
    {
        Owner.Value = this;
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == WebhookIntake.Meter && instrument.Name == "iamf.webhook.deliveries")
            {
                listener.EnableMeasurementEvents(instrument, this);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) =>
        {
            if (!ReferenceEquals(state, this) || !ReferenceEquals(Owner.Value, this))
            {
                return;
            }

            string? system = null;
            string? result = null;
            foreach (var tag in tags)
            {
                if (tag.Key == "system")
                {
                    system = tag.Value as string;
                }
                else if (tag.Key == "result")
                {
                    result = tag.Value as string;
                }
            }

            _measurements.Enqueue((system, result, value));
        });
        _listener.Start();
    }

    /// <summary>How many deliveries of <paramref name="system"/> were counted with each result.</summary>
    public IReadOnlyDictionary<string, long> Counted(TicketSystemKind system) =>
        _measurements.Where(m => m.System == system.ToString() && m.Result is not null)
            .GroupBy(m => m.Result!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(m => m.Value), StringComparer.Ordinal);

    public void Dispose()
    {
        _listener.Dispose();
        if (ReferenceEquals(Owner.Value, this))
        {
            Owner.Value = null;
        }
    }
}
