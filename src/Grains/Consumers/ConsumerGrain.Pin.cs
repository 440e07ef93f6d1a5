using Microsoft.Extensions.Logging;

namespace Platform.Grains.Consumers;

/// <summary>
/// 2.11's pinned_client policy (ADR-42): one pin per consumer, as nats-server keeps it. The first request a message
/// goes to while the pin is free is pinned (the oldest waiting one, as nats-server's queue order); its deliveries carry
/// the pin id, which its later requests send back. Requests without it wait while the pin is held; the pin is freed
/// when its client sends no request with it for priority_timeout, or by the unpin API. Kept in memory only, as
/// nats-server does: a restart frees it.
/// </summary>
internal sealed partial class ConsumerGrain
{
    private string? _pinId;
    private string _pinGroup = "";
    private DateTime _pinnedAt;
    /// <summary>When the pin runs out (tick clock) unless its client pulls again.</summary>
    private long _pinExpires;
    /// <summary>A request is collecting with the free pin in view: the others wait to see whether it was pinned.</summary>
    private bool _pinClaiming;
    /// <summary>Arrivals (UTC ticks) of the requests inside a fetch that wait for the pin without an id.</summary>
    private readonly List<long> _pinWaiters = [];

    private enum PinTurn
    {
        /// <summary>Delivered to as any request: it holds the pin, or is outside the groups while no one is pinned.</summary>
        Served,
        /// <summary>The pin is free and this request is the oldest waiting for it: a delivery pins it.</summary>
        Claims,
        /// <summary>Someone else holds the pin, takes it now, or waited longer.</summary>
        Held,
        /// <summary>Its id is no longer the pin.</summary>
        Wrong,
    }

    /// <summary>
    /// nats-server's admission of a pull request to a pinned_client consumer: the pin's id renews the pin, another id
    /// while a pin is held is refused (423 Nats-Pin-Id mismatch). Only a request's first fetch is its admission.
    /// </summary>
    private FetchStatus? Admit(PinRequest pin)
    {
        if (!pin.First)
            return null;
        ExpirePin();
        if (string.IsNullOrEmpty(pin.Id) || _pinId is null)
            return null;
        if (pin.Id != _pinId)
            return FetchStatus.PinIdMismatch;
        _pinExpires = Environment.TickCount64 + PinTtlMillis();
        return null;
    }

    private PinTurn PinTurnOf(PinRequest pin)
    {
        ExpirePin();
        if (!string.IsNullOrEmpty(pin.Id))
            return pin.Id == _pinId ? PinTurn.Served : PinTurn.Wrong;
        if (_pinId is not null || _pinClaiming)
            return PinTurn.Held;
        // nats-server pins only a request that names a group; one that names none is served while no one is pinned.
        if (pin.IsNone)
            return PinTurn.Served;
        foreach (var arrival in _pinWaiters)
            if (arrival < pin.Arrival)
                return PinTurn.Held;
        return PinTurn.Claims;
    }

    private string AssignPin(string group)
    {
        var id = NewPinId();
        _pinId = id;
        _pinGroup = group;
        _pinnedAt = DateTime.UtcNow;
        _pinExpires = Environment.TickCount64 + PinTtlMillis();
        logger.LogDebug("Consumer {Stream}/{Consumer}: group {Group} pinned to {PinId}", _stream, _name, group, id);
        pinEvents.Pinned(_stream, _name, group, id);
        return id;
    }

    /// <summary>Frees a pin whose client sent no request with it for priority_timeout.</summary>
    private void ExpirePin()
    {
        if (_pinId is null || Environment.TickCount64 < _pinExpires)
            return;
        _pinId = null;
        pinEvents.Unpinned(_stream, _name, _pinGroup, "timeout");
        Wake();
    }

    public Task<UnpinOutcome> Unpin(string group)
    {
        if (NoSuchConsumer())
            return Task.FromResult(UnpinOutcome.NoSuchConsumer);
        ThrowIfMoving();
        if (Array.IndexOf(_config!.PriorityGroups ?? [], group) < 0)
            return Task.FromResult(UnpinOutcome.NoSuchGroup);
        // As nats-server: freed and advised whether or not anyone was pinned.
        _pinId = null;
        pinEvents.Unpinned(_stream, _name, group, "admin");
        Wake();
        return Task.FromResult(UnpinOutcome.Unpinned);
    }

    private long PinTtlMillis() => Math.Max(1, (_config?.PinnedTtl ?? 0) / 1_000_000);

    /// <summary>A random id of nats-server's nuid shape: 22 characters of A-Z, a-z, 0-9.</summary>
    private static string NewPinId()
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        Span<char> id = stackalloc char[22];
        for (int i = 0; i < id.Length; i++)
            id[i] = alphabet[Random.Shared.Next(alphabet.Length)];
        return new string(id);
    }
}
