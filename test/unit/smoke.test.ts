import * as age from "age-encryption";
test("age loads", async () => {
  const id = await age.generateIdentity();
  expect(await age.identityToRecipient(id)).toMatch(/^age1/);
});
