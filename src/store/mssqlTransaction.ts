import sql from 'mssql';

/** Runs `work` in one SQL Server transaction: committed when it returns, rolled back when it throws. */
export async function inTransaction<T>(pool: sql.ConnectionPool, work: (tx: sql.Transaction) => Promise<T>): Promise<T> {
  const tx = new sql.Transaction(pool);
  await tx.begin();
  try {
    const result = await work(tx);
    await tx.commit();
    return result;
  } catch (error) {
    // Fails harmlessly when the server has already rolled the transaction back (mssql then reports EABORT).
    await tx.rollback().catch(() => undefined);
    throw error;
  }
}
