using CsCheck;
using Platform.Fuzz;
using Platform.Gateway.Protocol;

namespace Platform.UnitTests.Protocol;

/// <summary>
/// Fuzzes the span parser in-process with random and mutated protocol streams (valid ops, garbage, huge sizes, lines
/// past the limit, the seed corpus), whole and split at random points. Properties: it never throws (an out-of-range
/// read would throw, spans are bounds-checked), it fails only with nats-server's protocol errors, and it parses the
/// same ops, and ends the same way, whatever the split. FUZZ_SECONDS runs it longer (see the README).
/// </summary>
public class ParserFuzzTests
{
    private static readonly HashSet<string?> ProtocolErrorTexts =
    [
        null, ProtocolErrors.UnknownOperation, ProtocolErrors.MaxControlLineExceeded, ProtocolErrors.MaxPayloadViolation,
        ProtocolErrors.AuthorizationViolation,
    ];

    [Fact]
    public void Corpus_streams_parse_the_same_in_one_read_two_reads_and_one_byte_reads()
    {
        foreach (var wire in FuzzCorpus.Protocol)
        {
            AssertSplitInvariant(wire, [wire.Select(b => new[] { b }).ToList()], maxControlLine: 4096, maxPayload: 1024 * 1024, awaitingConnect: false);
            var twoReads = Enumerable.Range(1, Math.Max(0, wire.Length - 1)).Select(k => ParserDriver.Split(wire, k)).ToList();
            AssertSplitInvariant(wire, twoReads, maxControlLine: 4096, maxPayload: 1024 * 1024, awaitingConnect: false);
        }
    }

    [Fact]
    public void Random_streams_never_throw_and_parse_the_same_whatever_the_split()
    {
        var limits = Gen.Frequency((3, Gen.Const(4096)), (1, Gen.Int[8, 300]));
        var payloads = Gen.OneOf(Gen.Const(1024 * 1024), Gen.Int[0, 100]);
        Gen.Select(ProtocolGen.Stream, Gen.Int[0, int.MaxValue].Array[1, 12], limits, payloads, Gen.Frequency((5, Gen.Const(false)), (1, Gen.Const(true))))
            .Sample((wire, cutSeeds, maxControlLine, maxPayload, awaitingConnect) =>
            {
                var cuts = cutSeeds.Select(c => c % (wire.Length + 1)).Distinct().Order().ToArray();
                AssertSplitInvariant(wire, [ParserDriver.Split(wire, cuts)], maxControlLine, maxPayload, awaitingConnect);
            }, seed: FuzzBudget.Seed, time: FuzzBudget.Seconds(6));
    }

    private static void AssertSplitInvariant(byte[] wire, List<List<byte[]>> splits, int maxControlLine, int maxPayload, bool awaitingConnect)
    {
        var whole = Run([wire], maxControlLine, maxPayload, awaitingConnect);
        Assert.Contains(whole.Error, ProtocolErrorTexts);
        Assert.True(whole.Status != ParseStatus.Op || whole.Unconsumed == 0);
        foreach (var chunks in splits)
        {
            var split = Run(chunks, maxControlLine, maxPayload, awaitingConnect);
            if (split.Status != whole.Status || split.Error != whole.Error || !split.Ops.SequenceEqual(whole.Ops))
            {
                Assert.Fail($"reads of {string.Join(",", chunks.Select(c => c.Length))} bytes: {split.Status} '{split.Error}' after {split.Ops.Count} ops; " +
                            $"one read: {whole.Status} '{whole.Error}' after {whole.Ops.Count} ops");
            }
        }
    }

    private static ParseRun Run(IEnumerable<byte[]> chunks, int maxControlLine, int maxPayload, bool awaitingConnect)
    {
        var parser = ParserDriver.NewParser(maxControlLine, maxPayload);
        parser.AwaitingConnect = awaitingConnect;
        return ParserDriver.Run(chunks, parser);
    }
}
