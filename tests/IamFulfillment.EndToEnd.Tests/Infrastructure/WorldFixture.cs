using IamFulfillment.Sandbox.Demo;
using Microsoft.Extensions.DependencyInjection;

namespace IamFulfillment.EndToEnd.Tests.Infrastructure;

/// <summary>
/// One sandbox world and one host for a whole test class (xunit class fixture). Tests in the class share them and
/// stay apart by using people of their own (<see cref="People.NewEmployee"/>), so only the first test pays for
/// starting the sandboxes and the host. Subclasses seed extra directory objects, edit the policy or the settings.
/// </summary>
public abstract class WorldFixture : IAsyncLifetime
{
    private string? _policyPath;
    private SandboxWorld? _world;
    private HostUnderTest? _host;

    public SandboxWorld World => _world ?? throw new InvalidOperationException("The world is not started.");
    public HostUnderTest Host => _host ?? throw new InvalidOperationException("The host is not started.");
    public DemoOrganisation Demo => World.Demo;

    /// <summary>The host's clock (the system clock unless a subclass moves it).</summary>
    public AdjustableClock Clock { get; } = new();

    public async Task InitializeAsync()
    {
        await TestStorage.EnsureSharedAsync();
        _world = await SandboxWorld.StartAsync(new SandboxWorldOptions { WithJira = true });
        Seed(_world);
        _policyPath = Policies.Write(EditPolicy);
        _host = await HostUnderTest.StartAsync(_world, Configure, _policyPath, Clock);
        await StartedAsync();
    }

    /// <summary>Directory objects the class needs before the host resolves the catalog at start-up.</summary>
    protected virtual void Seed(SandboxWorld world)
    {
    }

    /// <summary>Changes to the demo policy (none by default).</summary>
    protected virtual void EditPolicy(PolicyEditor policy)
    {
    }

    protected virtual void Configure(Dictionary<string, string?> settings)
    {
    }

    protected virtual Task StartedAsync() => Task.CompletedTask;

    /// <summary>Another host against the same world (own tables and queue), e.g. one in shadow mode.</summary>
    public Task<HostUnderTest> StartAnotherHostAsync(Action<Dictionary<string, string?>> configure, Action<IServiceCollection>? services = null) =>
        HostUnderTest.StartAsync(World, configure, _policyPath, Clock, services);

    public virtual async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        if (_world is not null)
        {
            await _world.DisposeAsync();
        }

        Policies.Delete(_policyPath);
    }
}

/// <summary>A world with the demo policy as it is.</summary>
public sealed class DemoWorld : WorldFixture;
