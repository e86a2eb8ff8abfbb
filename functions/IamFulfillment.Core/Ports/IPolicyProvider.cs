using IamFulfillment.Core.Policy;

namespace IamFulfillment.Core.Ports;

/// <summary>The policy in force. Loaded and validated at start-up; every decision records its version.</summary>
public interface IPolicyProvider
{
    PolicyDocument Current { get; }
}

/// <summary>A policy that does not change while the process runs (the file is read once at start-up).</summary>
public sealed class StaticPolicyProvider(PolicyDocument policy) : IPolicyProvider
{
    public PolicyDocument Current { get; } = policy;
}

/// <summary>Finds the connector for a ticket system.</summary>
public interface ITicketSystems
{
    ITicketSystem For(Model.TicketSystemKind kind);
}

public sealed class TicketSystems(IEnumerable<ITicketSystem> systems) : ITicketSystems
{
    private readonly Dictionary<Model.TicketSystemKind, ITicketSystem> _byKind = systems.ToDictionary(s => s.Kind);

    public ITicketSystem For(Model.TicketSystemKind kind) =>
        _byKind.TryGetValue(kind, out var system)
            ? system
            : throw new InvalidOperationException($"No connector is configured for {kind}.");

    public bool IsConfigured(Model.TicketSystemKind kind) => _byKind.ContainsKey(kind);
}
