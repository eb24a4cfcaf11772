/**
 * The package's version, as its `package.json` says. A constant rather than a read of
 * `package.json` at run time, which would break once the package is bundled;
 * `npm run changeset-version` rewrites it after bumping `package.json`, and the pack test
 * checks that `toolpool --version` prints what `package.json` says.
 * @internal
 */
export const version = "0.1.0"
