// The Node peer: @azure/identity's ManagedIdentityCredential, as a user would call it.
//
//   node peer_node.mjs token        one token in this (fresh) process, printed on one line
//   node peer_node.mjs cached MS N  then N rounds of MS milliseconds of cached getToken calls;
//                                   prints the token, then a JSON line with the figures
//
// make bench copies this file next to its node_modules (build/bench-node) so
// that the plain package import resolves.  It runs in a private network
// namespace where the IMDS address is the local stand-in.
import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";

const tStart = performance.now();
const { ManagedIdentityCredential } = await import("@azure/identity");
const tImported = performance.now();
const SCOPE = "https://storage.azure.com/.default";
const BATCH = 100;

async function cachedRounds(cred, ms, rounds) {
	const out = [];
	for (let r = 0; r < rounds; r++) {
		let calls = 0;
		let now;
		const t0 = performance.now();
		for (;;) {
			for (let i = 0; i < BATCH; i++) {
				const t = await cred.getToken(SCOPE);
				if (!t || !t.token) throw new Error("empty token from the cache");
			}
			calls += BATCH;
			now = performance.now();
			if (now - t0 >= ms) break;
		}
		out.push(((now - t0) * 1e6) / calls);
	}
	return out;
}

async function main(argv) {
	if (argv[0] === "token") {
		const t = await new ManagedIdentityCredential().getToken(SCOPE);
		process.stdout.write(t.token + "\n");
		return 0;
	}
	if (argv[0] === "cached" && argv.length === 3) {
		const cred = new ManagedIdentityCredential();
		const t0 = performance.now();
		const t = await cred.getToken(SCOPE);
		const first = performance.now() - t0;
		const ns = (await cachedRounds(cred, Number(argv[1]), Number(argv[2]))).sort((a, b) => a - b);
		const require = createRequire(import.meta.url);
		const ver = (p) => require(p + "/package.json").version;
		process.stdout.write(t.token + "\n");
		process.stdout.write(
			JSON.stringify({
				startup_ms: tStart,
				import_ms: tImported - tStart,
				first_token_ms: first,
				ns_per_lookup: ns[Math.floor(ns.length / 2)],
				ns_per_lookup_best: ns[0],
				lookups_per_sec: 1e9 / ns[Math.floor(ns.length / 2)],
				versions: {
					node: process.versions.node,
					"@azure/identity": ver("@azure/identity"),
					"@azure/msal-node": ver("@azure/msal-node"),
					"@azure/core-rest-pipeline": ver("@azure/core-rest-pipeline"),
				},
			}) + "\n",
		);
		return 0;
	}
	process.stderr.write("usage: node peer_node.mjs token | cached MS ROUNDS\n");
	return 2;
}

process.exitCode = await main(process.argv.slice(2));
